using DigitalPost.Contracts;
using DigitalPost.Domain;
using DigitalPost.Domain.MassSending;
using Orleans.Streams;

namespace DigitalPost.Grains;

/// <summary>Tells the partition of a message's batch that owns the letter of a status change. Published before the
/// state is stored: a crash in between publishes it again, which the partition ignores.</summary>
internal sealed class LetterStatusPublisher(Guid uuid, TimeProvider time, IStreamProvider streams)
{
    public async Task Publish(MessageState state)
    {
        if (Change(state) is not { } change || state.Published == state.Status || state.LastVirkMove is not null) return;
        await streams.GetStream<LetterStatusChanged>(StreamId.Create(LetterStream.Namespace, BatchPartitions.KeyOf(change.Letter.BatchId, change.Letter.Partition))).OnNextAsync(change);
        state.Published = state.Status;
    }

    /// <summary>The letter's status as the message has it; none for a message sent on its own.</summary>
    public LetterStatusChanged? Change(MessageState state) => state.Message?.Batch is not { } batch ? null :
        LetterColumns.Of(state).Change(batch, uuid, time.GetUtcNow(), state.Status.IsFinal() ? [.. state.Attempts] : null);
}
