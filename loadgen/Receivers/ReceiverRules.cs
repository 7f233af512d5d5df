using System.Security.Cryptography;
using DigitalPost.Contracts;

namespace DigitalPost.LoadGen.Receivers;

/// <summary>What a simulated receiver system answers to one message of a push.</summary>
public enum ReceiptKind { Positive, Negative, Virus, None }

/// <summary>What a simulated receiver system takes: the platform's JSON envelopes, answered at <c>/api/receipts</c>, or
/// MeMos (NgDP's <c>REST_PUSH</c>), answered with NgDP receipts at <c>/apis/v1/memos/{id}/receipt</c>.</summary>
public enum PushFormat { Json, Memo }

/// <summary>An NgDP Receipt as a receiver system posts it for one MeMo.</summary>
public sealed record MemoReceipt(Guid MessageUUID, string ReceiptStatus, string? ErrorCode = null, string? ErrorMessage = null);

/// <summary>How a simulated receiver system decides each message's receipt, without the HTTP around it.</summary>
public static class ReceiverRules
{
    /// <summary>Takes the format off a <c>--system</c> that ends in <c>:memo</c> or <c>:json</c> (such as
    /// <c>erp=Healthy:memo</c>, <c>erp=Flaky:0.3:memo</c>); the rest is for <see cref="ParseSystem"/>.</summary>
    public static (string Spec, PushFormat? Format) ParseFormat(string spec)
    {
        var colon = spec.LastIndexOf(':');
        return colon > spec.IndexOf('=') && Enum.TryParse<PushFormat>(spec[(colon + 1)..], ignoreCase: true, out var format) && !int.TryParse(spec[(colon + 1)..], out _)
            ? (spec[..colon], format)
            : (spec, null);
    }

    /// <summary>A <c>--system</c> of <c>loadgen receivers</c>: <c>name=profile</c> or <c>name=profile:share</c> (the
    /// flaky share of attempts, or the failing share of messages, from 0 to 1). Null with the reason when it is not one.</summary>
    public static (string Name, ReceiverProfile Profile, double? Share)? ParseSystem(string spec, out string? error)
    {
        error = null;
        var parts = spec.Split('=', 2);
        var profileAndShare = parts.Length == 2 ? parts[1].Split(':', 2) : [];
        if (parts.Length != 2 || parts[0].Length == 0 || !Enum.TryParse<ReceiverProfile>(profileAndShare[0], ignoreCase: true, out var profile)
            || int.TryParse(profileAndShare[0], out _))
        {
            error = $"--system '{spec}': expected name=profile[:share] with a profile among {string.Join(", ", Enum.GetNames<ReceiverProfile>())}";
            return null;
        }
        if (profileAndShare.Length == 1) return (parts[0], profile, null);
        if (profile is not (ReceiverProfile.Flaky or ReceiverProfile.FailingMessages)
            || !double.TryParse(profileAndShare[1], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var share)
            || share is < 0 or > 1)
        {
            error = $"--system '{spec}': a share (from 0 to 1, such as 0.3) is given only to Flaky (of attempts) or FailingMessages (of messages)";
            return null;
        }
        return (parts[0], profile, share);
    }

    /// <summary>A <c>--system</c> that ends in <c>:pull</c> is registered as NgDP's <c>REST_PULL</c>: the simulator polls
    /// the platform for it rather than listening. The rest of the spec is as <see cref="ParseSystem"/> takes it.</summary>
    public static (string Spec, bool Pull) PullMode(string spec) =>
        spec.EndsWith(PullSuffix, StringComparison.OrdinalIgnoreCase) ? (spec[..^PullSuffix.Length], true) : (spec, false);

    private const string PullSuffix = ":pull";

    /// <summary>Whether the message is among the <paramref name="share"/> of messages that always fail: chosen by its
    /// id alone (SHA-256 of it, read as a fraction), so the same messages fail at every attempt, in every run and
    /// process, and about that share of any set of messages does.</summary>
    public static bool FailsByShare(Guid messageUuid, double share)
    {
        if (share <= 0) return false;
        if (share >= 1) return true;
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(messageUuid.ToByteArray(), hash);
        return BitConverter.ToUInt64(hash) / 18446744073709551616.0 < share;
    }

    /// <summary>The receipt of a message: <paramref name="poisoned"/> ones get a negative one whatever the profile;
    /// <paramref name="share"/> is the flaky share of attempts or the failing share of messages; <paramref name="draw"/>
    /// is a random number in [0, 1) for the flaky profile.</summary>
    public static ReceiptKind Receipt(ReceiverProfile profile, double share, Guid messageUuid, bool poisoned, double draw) =>
        poisoned ? ReceiptKind.Negative : profile switch
        {
            ReceiverProfile.Negative => ReceiptKind.Negative,
            ReceiverProfile.Flaky => draw < share ? ReceiptKind.Negative : ReceiptKind.Positive,
            ReceiverProfile.FailingMessages => FailsByShare(messageUuid, share) ? ReceiptKind.Negative : ReceiptKind.Positive,
            ReceiverProfile.Virus => ReceiptKind.Virus,
            ReceiverProfile.NoReceipt => ReceiptKind.None,
            _ => ReceiptKind.Positive,
        };

    /// <summary>The receipt as a MeMo system answers: a negative one as INVALID, a virus as NOT_ALLOWED with NgDP's
    /// <c>VIRUS</c>.</summary>
    public static MemoReceipt? ToMemoReceipt(ReceiptKind kind, Guid messageUuid) => kind switch
    {
        ReceiptKind.Positive => new MemoReceipt(messageUuid, "COMPLETED"),
        ReceiptKind.Negative => new MemoReceipt(messageUuid, "INVALID", "INVALID_MESSAGE", "the message could not be processed"),
        ReceiptKind.Virus => new MemoReceipt(messageUuid, "NOT_ALLOWED", BusinessReceipt.VirusErrorCode, "virus found in the main document"),
        _ => null,
    };

    public static BusinessReceipt? ToReceipt(ReceiptKind kind, Guid messageUuid) => kind switch
    {
        ReceiptKind.Positive => new BusinessReceipt(messageUuid, true),
        ReceiptKind.Negative => new BusinessReceipt(messageUuid, false, "INVALID_MESSAGE", "the message could not be processed"),
        ReceiptKind.Virus => new BusinessReceipt(messageUuid, false, BusinessReceipt.VirusErrorCode, "virus found in the main document"),
        _ => null,
    };
}

/// <summary>What one simulated system got and answered. <see cref="Requests"/> are pushes (HTTP requests), of which
/// <see cref="Refused"/> were answered 503; every message of an accepted push got exactly one of the receipts counted,
/// so <see cref="Messages"/> = <see cref="Positive"/> + <see cref="Negative"/> + <see cref="Virus"/> + <see cref="NoReceipt"/>.</summary>
public sealed record SystemCounts(string System, ReceiverProfile Profile, long Requests, long Refused, long Messages, long Positive, long Negative, long Virus, long NoReceipt)
{
    /// <summary>Every accepted push had at least one message, and every message exactly one receipt counted.</summary>
    public bool AddsUp => Refused <= Requests && Requests - Refused <= Messages && Messages == Positive + Negative + Virus + NoReceipt;
}

/// <summary>The running counts of one system, updated from the pushes' threads under a lock, so a snapshot is whole.</summary>
public sealed class SystemCounter
{
    private readonly Lock _lock = new();
    private long _requests, _refused, _messages, _positive, _negative, _virus, _none;

    public void Refused()
    {
        lock (_lock) (_requests, _refused) = (_requests + 1, _refused + 1);
    }

    public void Accepted(IEnumerable<ReceiptKind> receipts)
    {
        lock (_lock)
        {
            _requests++;
            foreach (var receipt in receipts)
            {
                _messages++;
                switch (receipt)
                {
                    case ReceiptKind.Positive: _positive++; break;
                    case ReceiptKind.Negative: _negative++; break;
                    case ReceiptKind.Virus: _virus++; break;
                    default: _none++; break;
                }
            }
        }
    }

    public SystemCounts Snapshot(string system, ReceiverProfile profile)
    {
        lock (_lock) return new SystemCounts(system, profile, _requests, _refused, _messages, _positive, _negative, _virus, _none);
    }
}
