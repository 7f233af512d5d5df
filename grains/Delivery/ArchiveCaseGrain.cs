using System.Security.Cryptography;
using System.Text;
using DigitalPost.Contracts;
using DigitalPost.Domain.MassSending;
using DigitalPost.Infrastructure;
using Orleans.Concurrency;

namespace DigitalPost.Grains;

/// <summary>A recipient's case in a sender's archive, for callers of the grain interfaces. The case lives in the
/// stores: the archive, where batches append their message grains' delivered letters, and the letter store, whose
/// bulk-lane deliveries are their own archive entries. The grain keeps no state of its own.</summary>
[StatelessWorker]
public sealed class ArchiveCaseGrain(IArchiveStore archive, ILetterStore letters) : Grain, IArchiveCaseGrain
{
    public Task Archive(RecipientKind kind, ArchivedLetter letter) => archive.Append([new ArchiveEntry(this.GetPrimaryKeyString(), kind, letter)]);

    public async Task<ArchiveCase?> GetCase()
    {
        var key = this.GetPrimaryKeyString();
        var (archived, bulk) = (archive.Case(key), letters.DeliveredInBulk(key));
        return Archiving.Case(await archived, await bulk);
    }
}

/// <summary>Names a case by a keyed hash of sender and recipient, so neither a CPR number nor a guessable id is a grain id.</summary>
/// <remarks>A batch names a case for each of its letters. The one-shot <see cref="HMACSHA256.HashData(byte[], byte[])"/>
/// sets its key up on every call, which cost twice the hash itself; each thread keeps one keyed HMAC instead and resets
/// it after each use. The key is the first 20 bytes of the HMAC-SHA256, in lower-case hex: keys already stored stay valid.</remarks>
public sealed class CaseKeys(string key)
{
    [ThreadStatic] private static (string Key, IncrementalHash Hmac)? t_hmac;

    public string Of(string senderId, RecipientKind kind, string recipientId)
    {
        var hmac = Hmac();
        hmac.AppendData(Encoding.UTF8.GetBytes($"{senderId}\n{kind}\n{recipientId}"));
        Span<byte> mac = stackalloc byte[32];
        hmac.GetHashAndReset(mac);
        return Convert.ToHexStringLower(mac[..20]);
    }

    private IncrementalHash Hmac()
    {
        if (t_hmac is { } kept && kept.Key == key) return kept.Hmac;
        t_hmac?.Hmac.Dispose();
        var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, Encoding.UTF8.GetBytes(key));
        t_hmac = (key, hmac);
        return hmac;
    }
}
