using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using DigitalPost.Contracts;
using DigitalPost.LoadGen.Messages;
using DigitalPost.Silo;
using DigitalPost.Tests.Support;
using DigitalPost.Tests.Unit;
using Npgsql;

namespace DigitalPost.Tests.Flow;

/// <summary>A message's documents are stored once, outside its grain's state, and streamed when they are pushed,
/// printed or opened.</summary>
public abstract class DocumentTests(PlatformFixture platform)
{
    [Collection(PlatformCollection.Name)]
    public sealed class InMemory(PlatformFixture platform) : DocumentTests(platform);

    [Collection(PostgresPlatformCollection.Name)]
    public sealed class OnPostgreSQL(PostgresPlatformFixture platform) : DocumentTests(platform);

    [Fact]
    public async Task A_document_sent_as_JSON_is_stored_once_outside_the_grain_and_reaches_the_receiver_byte_for_byte()
    {
        var org = await platform.Organisation();
        // Over three pieces of the store, and not a multiple of 3 bytes, so its base64 ends in padding.
        var letter = TestBytes.Random(3 * 1024 * 1024 + 7, seed: 11);
        var message = PlatformFixture.NewMessage(org.Cvr, "cp-b").WithMainFiles(new DocumentFile("brev.pdf", "application/pdf", letter));
        var uuid = message.Header.MessageUuid;
        using (var response = await platform.Beta.PostAsJsonAsync("/api/messages", message, PlatformJson.Options))
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        await platform.Settle();

        Assert.Equal(MessageStatus.Delivered, (await platform.Status(uuid)).Status);
        Assert.Equal([TestBytes.Sha256(letter)], Assert.Single(platform.Receivers.Pushes, p => p.MessageUuid == uuid).DocumentHashes);

        // The grain holds a reference only: where the bytes are, how many, and their hash.
        var reference = (await platform.Client.GetGrain<IMessageGrain>(uuid).GetDocumentFile(0, 0))!;
        Assert.Empty(reference.Content);
        Assert.Equal((letter.Length, TestBytes.Sha256(letter), $"/api/messages/{uuid}/documents/0/files/0"), (reference.Length, reference.Sha256, reference.Location?.ToString()));
        await AssertNoGrainStateHolds(letter.Length);

        using var file = await platform.Beta.GetAsync(reference.Location, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, file.StatusCode);
        Assert.Equal("application/pdf", file.Content.Headers.ContentType?.MediaType);
        Assert.Equal("brev.pdf", file.Content.Headers.ContentDisposition?.FileName);
        Assert.Equal(letter.Length, file.Content.Headers.ContentLength);
        Assert.Equal(TestBytes.Sha256(letter), await Sha256Of(file));
        using var missing = await platform.Beta.GetAsync($"/api/messages/{uuid}/documents/0/files/1");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task A_message_sent_as_multipart_has_its_files_streamed_into_the_store_and_is_the_same_message_as_its_JSON()
    {
        var org = await platform.Organisation();
        var (letter, attachment) = (TestBytes.Random(1_500_000, seed: 21), TestBytes.Random(40_000, seed: 22));
        var message = PlatformFixture.NewMessage(org.Cvr, "cp-a").WithMainFiles(new DocumentFile("brev.pdf", "application/pdf", []))
            .WithAdditional(new DocumentFile("bilag.pdf", "application/pdf", []));
        var uuid = message.Header.MessageUuid;

        using (var form = Multipart(message, ("documents/0/files/0", letter), ("documents/1/files/0", attachment)))
        using (var response = await platform.Beta.PostAsync("/api/messages", form))
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        await platform.Settle();

        Assert.Equal(MessageStatus.Delivered, (await platform.Status(uuid)).Status);
        Assert.Equal([TestBytes.Sha256(letter), TestBytes.Sha256(attachment)], Assert.Single(platform.Receivers.Pushes, p => p.MessageUuid == uuid).DocumentHashes);
        using (var file = await platform.Beta.GetAsync($"/api/messages/{uuid}/documents/1/files/0"))
            Assert.Equal(attachment, await file.Content.ReadAsByteArrayAsync());

        // Sent again as JSON with the contents inline, it is the same message; with other bytes, a conflict.
        var inline = message.WithMainFiles(new DocumentFile("brev.pdf", "application/pdf", letter)).WithAdditional(new DocumentFile("bilag.pdf", "application/pdf", attachment));
        using (var again = await platform.Beta.PostAsJsonAsync("/api/messages", inline, PlatformJson.Options))
            Assert.Equal(SubmitOutcome.Duplicate, (await again.Content.ReadFromJsonAsync<SubmitResult>(PlatformJson.Options))!.Outcome);
        using (var other = await platform.Beta.PostAsJsonAsync("/api/messages", inline.WithMainFiles(new DocumentFile("brev.pdf", "application/pdf", attachment)), PlatformJson.Options))
            Assert.Equal(HttpStatusCode.Conflict, other.StatusCode);
        Assert.Equal(TestBytes.Sha256(letter), (await platform.Documents.Find(new DocumentKey(uuid, 0, 0)))?.Sha256);
        Assert.Single(platform.Receivers.Pushes, p => p.MessageUuid == uuid);
    }

    [Fact]
    public async Task A_multipart_message_without_one_of_its_files_is_refused_naming_it_and_leaves_nothing_stored()
    {
        var org = await platform.Organisation();
        var message = PlatformFixture.NewMessage(org.Cvr, "cp-a").WithMainFiles(new DocumentFile("brev.pdf", "application/pdf", []))
            .WithAdditional(new DocumentFile("bilag.pdf", "application/pdf", []));
        var uuid = message.Header.MessageUuid;

        using (var form = Multipart(message, ("documents/0/files/0", TestBytes.Random(1000, seed: 41))))
        using (var response = await platform.Beta.PostAsync("/api/messages", form))
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var body = await response.Content.ReadAsStringAsync();
            Assert.Contains("body.additionalDocuments[0].files[0]", body);
            Assert.Contains("documents/1/files/0", body);
        }
        Assert.Null(await platform.Documents.Find(new DocumentKey(uuid, 0, 0)));
        Assert.Null(await platform.Client.GetGrain<IMessageGrain>(uuid).GetStatus());

        // Nothing of the refused one is in the way: the message complete goes through.
        using (var form = Multipart(message, ("documents/0/files/0", TestBytes.Random(1000, seed: 42)), ("documents/1/files/0", TestBytes.Random(10, seed: 43))))
        using (var response = await platform.Beta.PostAsync("/api/messages", form))
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
    }

    [Fact]
    public async Task A_message_of_99_5_MB_is_taken_and_one_byte_more_is_refused_with_413_naming_size_and_limit()
    {
        // To a citizen's mailbox: delivered at once, with no push to keep the other tests' receivers busy.
        var message = new Message(
            new MessageHeader(Guid.NewGuid(), "Stort brev", new Sender("12345674"), new Recipient("0101701234", RecipientIdType.Cpr)),
            new MessageBody(new Document("Stort brev", [new DocumentFile("stort-brev.pdf", "application/pdf", [])])));
        var uuid = message.Header.MessageUuid;
        try
        {
            using var atTheLimit = new GeneratedMessageContent(message, MessageIntake.MaxRequestBytes);
            using (var response = await platform.Beta.PostAsync("/api/messages", atTheLimit))
                Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            using (var file = await platform.Beta.GetAsync($"/api/messages/{uuid}/documents/0/files/0", HttpCompletionOption.ResponseHeadersRead))
            {
                Assert.Equal(atTheLimit.FileBytes, file.Content.Headers.ContentLength);
                Assert.Equal(atTheLimit.Sha256, await Sha256Of(file));
            }

            var over = message with { Header = message.Header with { MessageUuid = Guid.NewGuid() } };
            // Expect: 100-continue: the platform refuses on the Content-Length, and the 99.5 MB are never sent.
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/messages") { Content = new GeneratedMessageContent(over, MessageIntake.MaxRequestBytes + 1) };
            request.Headers.ExpectContinue = true;
            using var refused = await platform.Beta.SendAsync(request);
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, refused.StatusCode);
            var problem = JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal((99_500_001, 99_500_000), (problem.GetProperty("size").GetInt64(), problem.GetProperty("limit").GetInt64()));
            Assert.Contains("99,500,001", problem.GetProperty("detail").GetString());
            Assert.Contains("99,500,000", problem.GetProperty("detail").GetString());
            Assert.Null(await platform.Client.GetGrain<IMessageGrain>(over.Header.MessageUuid).GetStatus());
        }
        finally
        {
            // The embedded store is this test process's memory: the 99.5 MB go now rather than with the fixture.
            await platform.Documents.Delete(uuid);
        }
    }

    [Fact]
    public async Task A_letter_by_physical_post_has_its_stored_document_streamed_to_the_print_provider()
    {
        var letter = TestBytes.Random(1_234_567, seed: 31);
        var message = PlatformFixture.NewMessage(PlatformFixture.NewCvr(), null).WithMainFiles(new DocumentFile("brev.pdf", "application/pdf", letter));
        message = message.WithHeader(h => h with { Recipient = h.Recipient with { Address = ["Testvej 1", "1000 København K"] } }) with { Channel = DeliveryChannel.PhysicalPost };
        var print = platform.Client.GetGrain<IPrintQueueGrain>(0);
        var before = (await print.GetStatus()).DocumentBytesSent;

        using (var response = await platform.Beta.PostAsJsonAsync("/api/messages", message, PlatformJson.Options))
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        await platform.Settle();
        Assert.Equal(MessageStatus.SentToPrint, (await platform.Status(message.Header.MessageUuid)).Status);
        await platform.AdvanceBy(TimeSpan.FromDays(1));

        Assert.Equal(MessageStatus.Printed, (await platform.Status(message.Header.MessageUuid)).Status);
        Assert.Equal(letter.Length, (await print.GetStatus()).DocumentBytesSent - before);
    }

    /// <summary>On PostgreSQL: no grain state in the database is anywhere near the document's size.</summary>
    private async Task AssertNoGrainStateHolds(int documentBytes)
    {
        if (platform is not PostgresPlatformFixture postgres) return;
        await using var connection = new NpgsqlConnection(postgres.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT coalesce(max(octet_length(payloadbinary)), 0) FROM orleansstorage", connection);
        var largest = Convert.ToInt64(await command.ExecuteScalarAsync());
        Assert.True(largest < documentBytes / 10, $"a grain state of {largest} bytes");
    }

    private static MultipartFormDataContent Multipart(Message message, params (string Part, byte[] Bytes)[] files)
    {
        var form = new MultipartFormDataContent { { new StringContent(JsonSerializer.Serialize(message, PlatformJson.Options), Encoding.UTF8, "application/json"), "message" } };
        foreach (var (part, bytes) in files) form.Add(new ByteArrayContent(bytes), part, "file.pdf");
        return form;
    }

    private static async Task<string> Sha256Of(HttpResponseMessage response)
    {
        await using var body = await response.Content.ReadAsStreamAsync();
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(body));
    }
}

internal static class DocumentMessages
{
    public static Message WithMainFiles(this Message message, params DocumentFile[] files) =>
        message with { Body = message.Body with { MainDocument = message.Body.MainDocument with { Files = files } } };

    public static Message WithAdditional(this Message message, params DocumentFile[] files) =>
        message with { Body = message.Body with { AdditionalDocuments = [new Document("Bilag", files)] } };
}
