using DigitalPost.Contracts;
using DigitalPost.Domain;
using DigitalPost.Grains;
using DigitalPost.Infrastructure;
using DigitalPost.Silo.Auth;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace DigitalPost.Silo;

/// <summary>Post from citizens and companies to an authority (modtagelse, SF1606), as their mailbox hands it on
/// (<c>POST /api/incoming/messages</c>). It is routed like any post to the organisation (contact point, then the
/// organisation's routing rules on its tagged data, then the primary system) and delivered through the same resend
/// flow. A reply is checked against the letter it answers, linked to it, and, for a merge letter, archived in the case
/// the letter is archived in.</summary>
public sealed class IncomingPost(IGrainFactory grains, IReplyStore replies, IArchiveStore archive, TimeProvider time, IOptions<MassSendingOptions> options)
    : IMessageAdmission
{
    public async Task<IResult?> Admit(Message message)
    {
        var errors = Replies.CheckIncoming(message.Header);
        if (errors.Count == 0 && message.Header.ReplyData is [{ } answered])
            errors = Replies.CheckReply(await Terms(answered.MessageUuid), answered.MessageUuid, message.Header, time.GetUtcNow());
        return errors.Count > 0 ? throw new ValidationException(errors) : null;
    }

    public async Task Accepted(Message message)
    {
        if (message.Header.ReplyData is not [{ } answered] || await Terms(answered.MessageUuid) is not { } letter) return;
        var now = time.GetUtcNow();
        await replies.Link(answered.MessageUuid, new LinkedReply(message.Header.MessageUuid, now));
        if (letter is { SenderSystemId: { } senderSystem, Batch: { } batch })
        {
            var kind = letter.RecipientKind == RecipientIdType.Cpr ? RecipientKind.Cpr : RecipientKind.Cvr;
            var caseKey = new CaseKeys(options.Value.ArchiveKey).Of(senderSystem, kind, letter.RecipientId);
            await archive.Append([new ArchiveEntry(caseKey, kind, new ArchivedLetter(message.Header.MessageUuid, batch.BatchId, batch.Row, batch.Copy,
                message.Header.Label, LetterState.Queued, now, [], ReplyTo: answered.MessageUuid))]);
        }
    }

    private Task<ReplyTerms?> Terms(Guid letter) => grains.GetGrain<IMessageGrain>(letter).GetReplyTerms();
}

public static class IncomingPostApi
{
    public static void MapIncomingPostApi(this RouteGroupBuilder app)
    {
        app.MapPost("/api/incoming/messages", (HttpContext http, MessageIntake intake, IncomingPost incoming) =>
                intake.Submit(http.Request, incoming, http.RequestAborted))
            .WithMetadata(new RequestSizeLimitAttribute(MessageIntake.MaxRequestBytes))
            .RequireMailbox();
    }
}
