using DigitalPost.Contracts;
using DigitalPost.Domain.MassSending;
using DigitalPost.Grains;
using DigitalPost.Infrastructure;
using DigitalPost.Tests.Support;
using DigitalPost.Tests.Unit;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;

namespace DigitalPost.Tests.Postgres;

/// <summary>Message grains' storage as each silo configures it: a batch letter's state is its row in the letter store,
/// written with the row's state columns on condition of the row's version; a single message's state stays in the
/// platform's storage.</summary>
public abstract class LetterRowStorageTests(PlatformFixture platform)
{
    [Collection(PlatformCollection.Name)]
    public sealed class InMemory(PlatformFixture platform) : LetterRowStorageTests(platform);

    [Collection(PostgresPlatformCollection.Name)]
    public sealed class OnPostgreSQL(PostgresPlatformFixture platform) : LetterRowStorageTests(platform);

    private const string StateName = PostgresMessageStateRows.StateName;
    private IServiceProvider Services => platform.Cluster.Silos[0].ServiceProvider;
    private IGrainStorage Storage => Services.GetRequiredKeyedService<IGrainStorage>(StorageNames.Messages);
    private ILetterStore Letters => Services.GetRequiredService<ILetterStore>();

    [Fact]
    public async Task A_batch_letters_state_is_written_on_its_row_with_the_rows_state_and_read_back_from_it()
    {
        var letter = await StoredLetter();
        var state = Grain(letter, MessageStatus.Delivered);

        await Storage.WriteStateAsync(StateName, IdOf(letter), state);

        Assert.Equal("1", state.ETag);
        var row = (await Letters.Load(letter.Batch))[letter.Record.Key];
        Assert.Equal((LetterState.Delivered, (string?)null, false), (row.State, row.ErrorCode, row.Rerouted));
        Assert.Equal(1, (await Letters.FindMessageState(letter.Uuid))!.Version);
        var read = Read();
        await Storage.ReadStateAsync(StateName, IdOf(letter), read);
        Assert.Equal((MessageStatus.Delivered, letter.Uuid, "1", true), (read.State!.Status, read.State!.Message!.Header.MessageUuid, read.ETag, read.RecordExists));
        // Not in the platform's storage: the row is its one home.
        var previous = Read();
        await Services.GetRequiredKeyedService<IGrainStorage>(StorageNames.Platform).ReadStateAsync(StateName, IdOf(letter), previous);
        Assert.False(previous.RecordExists);
    }

    [Fact]
    public async Task A_write_at_a_stale_version_is_refused_and_changes_nothing()
    {
        var letter = await StoredLetter();
        var first = Grain(letter, MessageStatus.Failing, "NO_RECEIPT");
        await Storage.WriteStateAsync(StateName, IdOf(letter), first);
        var stale = Grain(letter, MessageStatus.Delivered);
        stale.ETag = "0";

        await Assert.ThrowsAsync<InconsistentStateException>(() => Storage.WriteStateAsync(StateName, IdOf(letter), stale));

        Assert.Equal(LetterState.Failing, (await Letters.Load(letter.Batch))[letter.Record.Key].State);
        Assert.Equal(1, (await Letters.FindMessageState(letter.Uuid))!.Version);
        var read = Read();
        await Storage.ReadStateAsync(StateName, IdOf(letter), read);
        Assert.Equal(MessageStatus.Failing, read.State!.Status);
    }

    [Fact]
    public async Task A_batch_save_of_an_older_view_of_the_letter_keeps_what_its_grain_wrote()
    {
        var letter = await StoredLetter();
        await Storage.WriteStateAsync(StateName, IdOf(letter), Grain(letter, MessageStatus.Failing, "NO_RECEIPT"));

        // The batch's view from before the grain's write: queued, no error. Not final, so it would have overwritten it.
        var older = letter.Record.Clone();
        older.Archived = true;
        await Letters.Save(letter.Batch, [older], _ => "case");

        var row = (await Letters.Load(letter.Batch))[letter.Record.Key];
        Assert.Equal((LetterState.Failing, "NO_RECEIPT", true), (row.State, row.ErrorCode, row.Archived));
        Assert.Equal(1, (await Letters.FindMessageState(letter.Uuid)) is { State: not null, Version: var v } ? v : -1);
    }

    [Fact]
    public async Task A_retrys_next_generation_starts_without_the_grains_state_and_the_old_grain_can_no_longer_write()
    {
        var letter = await StoredLetter();
        await Storage.WriteStateAsync(StateName, IdOf(letter), Grain(letter, MessageStatus.Stopped, "VIRUS"));
        var retried = letter.Record.Clone();
        (retried.Generation, retried.MessageUuid, retried.State, retried.ErrorCode, retried.ErrorText, retried.Remedy) = (1, Guid.NewGuid(), LetterState.Pending, null, null, null);

        await Letters.Save(letter.Batch, [retried], _ => "case");

        var row = (await Letters.Load(letter.Batch))[letter.Record.Key];
        Assert.Equal((LetterState.Pending, (string?)null, 1), (row.State, row.ErrorCode, row.Generation));
        Assert.Equal(new StoredMessageState(null, 0), await Letters.FindMessageState(retried.MessageUuid.Value));
        Assert.Null(await Letters.FindMessageState(letter.Uuid));
        var late = Grain(letter, MessageStatus.Stopped, "VIRUS");
        late.ETag = "1";
        await Assert.ThrowsAsync<InconsistentStateException>(() => Storage.WriteStateAsync(StateName, IdOf(letter), late));
        Assert.Equal(LetterState.Pending, (await Letters.Load(letter.Batch))[letter.Record.Key].State);
    }

    [Fact]
    public async Task A_single_messages_state_stays_in_the_platforms_storage()
    {
        var uuid = Guid.NewGuid();
        var id = GrainId.Create("message", uuid.ToString("N"));
        var state = new GrainState<MessageState>(new MessageState { Message = TestMessages.Valid(uuid), Status = MessageStatus.AwaitingReceipt });

        await Storage.WriteStateAsync(StateName, id, state);

        Assert.Null(await Letters.FindMessageState(uuid));
        var previous = new GrainState<MessageState>(new MessageState());
        await Services.GetRequiredKeyedService<IGrainStorage>(StorageNames.Platform).ReadStateAsync(StateName, id, previous);
        Assert.Equal((MessageStatus.AwaitingReceipt, uuid), (previous.State!.Status, previous.State!.Message!.Header.MessageUuid));
        var read = new GrainState<MessageState>(new MessageState());
        await Storage.ReadStateAsync(StateName, id, read);
        Assert.Equal((MessageStatus.AwaitingReceipt, state.ETag), (read.State!.Status, read.ETag));
    }

    [Fact]
    public async Task Clearing_a_batch_letters_state_empties_it_on_the_row_which_stays_and_no_later_read_finds_it()
    {
        var letter = await StoredLetter();
        var state = Grain(letter, MessageStatus.Delivered);
        await Storage.WriteStateAsync(StateName, IdOf(letter), state);

        await Storage.ClearStateAsync(StateName, IdOf(letter), state);

        Assert.Equal(new StoredMessageState(null, 2), await Letters.FindMessageState(letter.Uuid));
        Assert.Equal(LetterState.Delivered, (await Letters.Load(letter.Batch))[letter.Record.Key].State);
        var read = Read();
        await Storage.ReadStateAsync(StateName, IdOf(letter), read);
        Assert.Equal((false, (Message?)null, "2"), (read.RecordExists, read.State!.Message, read.ETag));
    }

    private sealed record Letter(Guid Batch, Guid Uuid, LetterRecord Record);

    /// <summary>A letter its batch stored in its message grain's lane, queued, as the dispatch stores it before it
    /// submits the message.</summary>
    private async Task<Letter> StoredLetter()
    {
        var (batch, uuid) = (Guid.NewGuid(), Guid.NewGuid());
        var record = new LetterRecord
        {
            Row = 1, MessageUuid = uuid, State = LetterState.Queued, Channel = DeliveryChannel.DigitalPost, Kind = RecipientKind.Cvr,
            RecipientId = TestMessages.Cvr, Lane = LetterLane.MessageGrain,
        };
        await Letters.Insert(batch, [record], _ => "case");
        return new(batch, uuid, record);
    }

    private static GrainId IdOf(Letter letter) => GrainId.Create("message", letter.Uuid.ToString("N"));

    private static GrainState<MessageState> Read() => new(new MessageState());

    private static GrainState<MessageState> Grain(Letter letter, MessageStatus status, string? errorCode = null) =>
        new(new MessageState
        {
            Message = TestMessages.Valid(letter.Uuid) with { Batch = new BatchRef(letter.Batch, letter.Record.Row) },
            Status = status,
            ErrorCode = errorCode,
            ErrorText = errorCode is null ? null : "the receiver system did not answer",
        });
}
