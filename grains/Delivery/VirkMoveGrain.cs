using DigitalPost.Contracts;
using DigitalPost.Infrastructure;
using Microsoft.Extensions.Logging;

namespace DigitalPost.Grains;

[GenerateSerializer, Alias("dp.VirkMoveState")]
public sealed class VirkMoveState
{
    [Id(0)] public VirkMove? Move { get; set; }
    [Id(1)] public VirkMoveRequest? Request { get; set; }
    /// <summary>Letters of the move handed back to delivery, in the store's order: the next starts here.</summary>
    [Id(2)] public int Redelivered { get; set; }
    [Id(3)] public bool Finished { get; set; }
}

/// <summary>Moves letters out of a Virk mailbox. The store takes them out in one step; then each letter's message grain
/// delivers it, a page at a time. A durable wake-up stands behind every page, so a crash anywhere resumes the move
/// (a message grain ignores a move it made before).</summary>
public sealed class VirkMoveGrain(
    [PersistentState("virkMove", StorageNames.Platform)] IPersistentState<VirkMoveState> state,
    IVirkMailboxStore mailboxes,
    WakeUps wakeUps,
    TimeProvider time,
    ILogger<VirkMoveGrain> log) : Grain, IVirkMoveGrain
{
    private const int Page = 500;
    private static readonly TimeSpan Resume = TimeSpan.FromMinutes(1);
    private VirkMoveState S => state.State;
    private IGrainTimer? _running;

    public async Task<VirkMove> Move(VirkMove move, VirkMoveRequest request)
    {
        if (S.Move is null)
        {
            // Stored with a wake-up before the letters leave the mailbox: a crash after that still delivers them.
            (S.Move, S.Request) = (move, request);
            await wakeUps.Schedule(this.GetGrainId(), time.GetUtcNow() + Resume);
            await state.WriteStateAsync();
        }
        var made = await mailboxes.Move(S.Move, S.Request!);
        Start();
        return made with { Redelivered = Math.Max(made.Redelivered, S.Redelivered) };
    }

    public Task WakeUp()
    {
        if (S.Move is not null && !S.Finished) Start();
        return Task.CompletedTask;
    }

    /// <summary>Runs the redelivery on a timer of this grain, so that neither the caller nor the wake-up scheduler
    /// waits for a hundred thousand letters.</summary>
    private void Start() => _running ??= this.RegisterGrainTimer(Redeliver, new GrainTimerCreationOptions(TimeSpan.Zero, Timeout.InfiniteTimeSpan) { KeepAlive = true });

    private async Task Redeliver(CancellationToken cancellation)
    {
        try
        {
            // A resumed move first makes sure its letters left the mailbox (a crash may have come before).
            await mailboxes.Move(S.Move!, S.Request!);
            var organisation = GrainFactory.GetGrain<IOrganisationGrain>(S.Move!.Cvr);
            while (!cancellation.IsCancellationRequested)
            {
                var letters = await mailboxes.MovedLetters(S.Move.MoveId, S.Redelivered, Page);
                if (letters.Count == 0) break;
                await wakeUps.Schedule(this.GetGrainId(), time.GetUtcNow() + Resume);
                // One routing decision per contact point and page, not one per letter; a page sees a system deactivated meanwhile.
                var routes = new Dictionary<string, RouteDecision>();
                foreach (var contactPoint in letters.Select(l => l.ContactPointId ?? "").Distinct().Where(c => !routes.ContainsKey(c)))
                    routes[contactPoint] = await organisation.Route(new RouteRequest(contactPoint.Length == 0 ? null : contactPoint));
                await Task.WhenAll(letters.Select(l => GrainFactory.GetGrain<IMessageGrain>(l.MessageUuid).MoveFromVirk(S.Move.MoveId, routes[l.ContactPointId ?? ""])));
                S.Redelivered += letters.Count;
                await mailboxes.Redelivered(S.Move.MoveId, S.Redelivered);
                await state.WriteStateAsync();
            }
            S.Finished = !cancellation.IsCancellationRequested;
            await state.WriteStateAsync();
        }
        catch (Exception e)
        {
            // The wake-up scheduled before the page brings the move back.
            log.LogWarning(e, "Move {MoveId} stopped after {Redelivered} letters; it resumes at its wake-up", S.Move?.MoveId, S.Redelivered);
        }
        finally
        {
            _running?.Dispose();
            _running = null;
        }
    }
}
