using DigitalPost.Contracts;
using DigitalPost.Domain;

namespace DigitalPost.Domain.MassSending;

/// <summary>The rules a batch's options must keep, checked before anything of the batch is stored.</summary>
public static class BatchRules
{
    public const int MaxBatchIdLength = 100;

    public static IReadOnlyList<ValidationError> Validate(BatchOptions options, DateTimeOffset now, TimeSpan maxValoerAhead)
    {
        var errors = new List<ValidationError>();
        void Fail(string field, string reason) => errors.Add(new(field, reason));

        if (string.IsNullOrWhiteSpace(options.Label)) Fail("options.label", "is missing: every letter needs a title");
        else if (options.Label.Length > 256) Fail("options.label", "is longer than 256 characters");
        if (options.BatchId is { } id && (id.Length is 0 or > MaxBatchIdLength || id.Any(char.IsControl)))
            Fail("options.batchId", $"must be 1 to {MaxBatchIdLength} printable characters");
        var sendsAt = options.SendAt is { } sendAt && sendAt > now ? sendAt : now;
        if (options.ValoerDate is { } valoer)
        {
            // Counted from when the letters go out, as the message checks it when it is made.
            if (valoer > sendsAt + maxValoerAhead)
                Fail("options.valoerDate", $"{valoer:O} is more than {Durations.Describe(maxValoerAhead)} after the batch is sent");
            else if (valoer < sendsAt - TimeSpan.FromDays(1))
                Fail("options.valoerDate", $"{valoer:O} is before the batch is sent");
        }
        if (options.SendAt is { } deferred && options.ValoerDate is null && deferred > now + TimeSpan.FromDays(365))
            Fail("options.sendAt", "is more than a year ahead");
        foreach (var (action, i) in (options.Actions ?? []).Select((a, i) => (a, i)))
        {
            var path = $"options.actions[{i}]";
            // JSON binding leaves a null element null whatever the contract's nullability says.
            if (action is null)
            {
                Fail(path, "is null; an action is an object with a label and an entryPoint or a reservation");
                continue;
            }
            if (string.IsNullOrWhiteSpace(action.Label)) Fail($"{path}.label", "is missing");
            if (action.EntryPoint is null && string.IsNullOrWhiteSpace(action.Reservation))
                Fail(path, "needs an entryPoint (a link) or a reservation");
            if (action.EntryPoint is { IsAbsoluteUri: false }) Fail($"{path}.entryPoint", "must be an absolute URL");
            if (action.EndDateTime is { } end && end <= sendsAt) Fail($"{path}.endDateTime", "is before the batch is sent");
        }
        return errors;
    }
}
