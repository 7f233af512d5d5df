using DigitalPost.Contracts;

namespace DigitalPost.Tests.Unit;

/// <summary>Test data shared by the unit tests: a message that passes every rule, to be bent one field at a time.</summary>
internal static class TestMessages
{
    public const string Cvr = "12345674";

    public static readonly DateTimeOffset Now = new(2025, 3, 3, 9, 0, 0, TimeSpan.Zero);

    public static Message Valid(Guid? uuid = null) => new(
        new MessageHeader(uuid ?? Guid.NewGuid(), "Afgørelse om byggetilladelse", new Sender(Cvr, "Testkommune"), new Recipient(Cvr)),
        new MessageBody(new Document("Afgørelse", [Pdf("afgoerelse.pdf", 1024)])));

    public static DocumentFile Pdf(string filename, long bytes) =>
        new(filename, "application/pdf", GC.AllocateUninitializedArray<byte>(checked((int)bytes)));

    public static Message WithHeader(this Message message, Func<MessageHeader, MessageHeader> change) =>
        message with { Header = change(message.Header) };

    public static Message WithMainDocument(this Message message, Func<Document, Document> change) =>
        message with { Body = message.Body with { MainDocument = change(message.Body.MainDocument) } };

    public static ReceiverSystemRegistration System(string id, bool primary = false, string? businessContact = null) =>
        new(id, new Uri($"https://{id}.example.dk/digitalpost"), $"drift@{id}.example.dk", businessContact, primary);
}
