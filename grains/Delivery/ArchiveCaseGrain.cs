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
public sealed class CaseKeys(string key)
{
    private readonly byte[] _key = Encoding.UTF8.GetBytes(key);

    public string Of(string senderId, RecipientKind kind, string recipientId) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes($"{senderId}\n{kind}\n{recipientId}")))[..40];
}
