using System.Security.Cryptography;
using System.Text;
using DigitalPost.Contracts;
using DigitalPost.Infrastructure;

namespace DigitalPost.Grains;

[GenerateSerializer, Alias("dp.ArchiveCaseState")]
public sealed class ArchiveCaseState
{
    [Id(0)] public ArchiveCase? Case { get; set; }
}

/// <summary>A recipient's case in a sender's archive: created by its first letter, appended to by the rest.</summary>
public sealed class ArchiveCaseGrain(
    [PersistentState("case", StorageNames.Platform)] IPersistentState<ArchiveCaseState> state,
    TimeProvider time) : Grain, IArchiveCaseGrain
{
    public async Task Archive(RecipientKind kind, ArchivedLetter letter)
    {
        var current = state.State.Case ?? new ArchiveCase(kind, time.GetUtcNow(), []);
        if (current.Letters.Any(l => l.MessageUuid == letter.MessageUuid)) return;
        state.State.Case = current with { Letters = [.. current.Letters, letter] };
        await state.WriteStateAsync();
    }

    public Task<ArchiveCase?> GetCase() => Task.FromResult(state.State.Case);
}

/// <summary>Names a case by a keyed hash of sender and recipient, so neither a CPR number nor a guessable id is a grain id.</summary>
public sealed class CaseKeys(string key)
{
    private readonly byte[] _key = Encoding.UTF8.GetBytes(key);

    public string Of(string senderId, RecipientKind kind, string recipientId) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes($"{senderId}\n{kind}\n{recipientId}")))[..40];
}
