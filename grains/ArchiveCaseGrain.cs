using System.Security.Cryptography;
using System.Text;
using DigitalPost.Contracts;
using DigitalPost.Infrastructure;
using Orleans.Concurrency;

namespace DigitalPost.Grains;

/// <summary>A recipient's case in a sender's archive, for callers of the grain interfaces. The case lives in the
/// archive store, where batches append their letters in bulk; the grain keeps no state of its own.</summary>
[StatelessWorker]
public sealed class ArchiveCaseGrain(IArchiveStore archive) : Grain, IArchiveCaseGrain
{
    public Task Archive(RecipientKind kind, ArchivedLetter letter) => archive.Append([new ArchiveEntry(this.GetPrimaryKeyString(), kind, letter)]);

    public Task<ArchiveCase?> GetCase() => archive.Case(this.GetPrimaryKeyString());
}

/// <summary>Names a case by a keyed hash of sender and recipient, so neither a CPR number nor a guessable id is a grain id.</summary>
public sealed class CaseKeys(string key)
{
    private readonly byte[] _key = Encoding.UTF8.GetBytes(key);

    public string Of(string senderId, RecipientKind kind, string recipientId) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes($"{senderId}\n{kind}\n{recipientId}")))[..40];
}
