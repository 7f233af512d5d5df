using System.Security.Cryptography;
using System.Text;
using DigitalPost.Contracts;
using DigitalPost.Grains;

namespace DigitalPost.Tests.Unit;

/// <summary>Case keys are stored (letter rows, archive entries): however they are computed, a sender and recipient must
/// keep the key they had, on every thread and whichever archive key another caller on that thread used before.</summary>
public sealed class CaseKeysTests
{
    private static string AsStored(string archiveKey, string senderId, RecipientKind kind, string recipientId) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(archiveKey), Encoding.UTF8.GetBytes($"{senderId}\n{kind}\n{recipientId}")))[..40];

    [Fact]
    public async Task A_case_key_is_the_keyed_hash_of_sender_and_recipient_on_every_thread_and_for_each_archive_key()
    {
        var (one, other) = (new CaseKeys("archive-key-one"), new CaseKeys("archive-key-two"));
        var recipients = Enumerable.Range(0, 2_000).Select(i => (Kind: i % 3 == 0 ? RecipientKind.Cvr : RecipientKind.Cpr, Id: $"{1_000_000_000 + i}")).ToList();

        var wrong = await Task.WhenAll(Enumerable.Range(0, 8).Select(t => Task.Run(() => recipients
            // Alternating keys on one thread: each call must use its own.
            .Where(r => one.Of("29189846", r.Kind, r.Id) != AsStored("archive-key-one", "29189846", r.Kind, r.Id)
                        || other.Of($"sender-{t}", r.Kind, r.Id) != AsStored("archive-key-two", $"sender-{t}", r.Kind, r.Id))
            .Count())));

        Assert.All(wrong, count => Assert.Equal(0, count));
        Assert.NotEqual(one.Of("29189846", RecipientKind.Cpr, "1000000001"), other.Of("29189846", RecipientKind.Cpr, "1000000001"));
        Assert.Equal(40, one.Of("29189846", RecipientKind.Cpr, "1000000001").Length);
    }
}
