using DigitalPost.Contracts;
using DigitalPost.Domain;
using DigitalPost.Infrastructure;

namespace DigitalPost.Silo;

/// <summary>A move of letters out of the Virk mailbox. <see cref="MoveId"/> is optional: a client that repeats its request
/// with the same id (after a lost answer) gets the same move back and moves nothing twice.</summary>
public sealed record VirkMoveBody(Guid[]? MessageUuids, bool All = false, string? ContactPointId = null, bool ToOriginalContactPoint = false,
    VirkMailboxFilter? Filter = null, Guid? MoveId = null);

/// <summary>What a move answers: the move, the first of its letters, and those of the listed letters that were not in
/// the mailbox (moved before, or never there).</summary>
public sealed record VirkMoveAnswer(VirkMove Move, IReadOnlyList<Guid> FirstMoved, IReadOnlyList<Guid> NotInMailbox, string LettersUrl);

public sealed record VirkMoveView(VirkMove Move, IReadOnlyList<VirkMovedLetter> Letters);

/// <summary>An organisation's Virk mailbox (Virk-postkassen, seed 001): list it, move letters on to a receiver system,
/// and read the history of moves.</summary>
public static class VirkMailboxApi
{
    private const int FirstMovedShown = 1000;

    public static void MapVirkMailboxApi(this RouteGroupBuilder organisation)
    {
        var mailbox = organisation.MapGroup("/virk-mailbox");
        mailbox.MapGet("", (string cvr, DateTimeOffset? from, DateTimeOffset? to, string? contactPointId, string? reason, int? skip, int? take,
                IVirkMailboxStore mailboxes) =>
            mailboxes.List(cvr, new VirkMailboxFilter(from, to, contactPointId, reason), Math.Max(0, skip ?? 0), Math.Clamp(take ?? 100, 1, 1000)));

        mailbox.MapPost("/move", async (string cvr, VirkMoveBody body, HttpContext http, IGrainFactory grains, IVirkMailboxStore mailboxes, TimeProvider time) =>
        {
            if (await grains.GetGrain<IOrganisationGrain>(cvr).GetView() is not { } organisation)
                return Results.NotFound(new { error = $"organisation {cvr} is not registered" });
            var request = new VirkMoveRequest(body.MessageUuids, body.All, body.Filter ?? VirkMailboxFilter.None,
                new VirkMoveTarget(body.ContactPointId, body.ToOriginalContactPoint));
            var errors = VirkMoves.Validate(request, organisation.ContactPoints, organisation.ReceiverSystems);
            if (errors.Count > 0) throw new ValidationException(errors);

            var move = new VirkMove(body.MoveId ?? Guid.NewGuid(), cvr, time.GetUtcNow(), MovedBy(http), request.Target, 0, 0);
            var made = await grains.GetGrain<IVirkMoveGrain>(move.MoveId).Move(move, request);
            if (made.Cvr != cvr) return Results.Conflict(new { error = $"move {made.MoveId} belongs to another organisation" });
            var listed = request.All ? null : body.MessageUuids;
            var moved = await mailboxes.MovedLetters(made.MoveId, 0, listed?.Length ?? FirstMovedShown);
            var notInMailbox = listed is null ? [] : listed.Except(moved.Select(l => l.MessageUuid)).ToList();
            return Results.Ok(new VirkMoveAnswer(made, [.. moved.Take(FirstMovedShown).Select(l => l.MessageUuid)], notInMailbox,
                $"/api/organisations/{cvr}/virk-mailbox/moves/{made.MoveId}"));
        });

        mailbox.MapGet("/moves", (string cvr, int? skip, int? take, IVirkMailboxStore mailboxes) =>
            mailboxes.Moves(cvr, Math.Max(0, skip ?? 0), Math.Clamp(take ?? 100, 1, 1000)));
        mailbox.MapGet("/moves/{moveId:guid}", async (string cvr, Guid moveId, int? skip, int? take, IVirkMailboxStore mailboxes) =>
            await mailboxes.FindMove(moveId) is { } move && move.Cvr == cvr
                ? Results.Ok(new VirkMoveView(move, await mailboxes.MovedLetters(moveId, Math.Max(0, skip ?? 0), Math.Clamp(take ?? 1000, 1, 10_000))))
                : Results.NotFound(new { error = $"no move {moveId} of organisation {cvr}" }));
    }

    /// <summary>Who made the move, as the history names them: the authenticated caller.</summary>
    private static string MovedBy(HttpContext http) => http.User.Identity is { IsAuthenticated: true, Name: { Length: > 0 } name } ? name : "unauthenticated";
}
