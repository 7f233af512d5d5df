using DigitalPost.Contracts;
using DigitalPost.Domain;
using DigitalPost.Domain.MassSending;
using DigitalPost.Silo.Auth;
using Microsoft.AspNetCore.Http.HttpResults;

namespace DigitalPost.Silo;

/// <summary>The operators' endpoints for retention and erasure, in one route group for operators. A CPR number travels
/// in a body, never in a URL, where proxies and access logs would keep it.</summary>
public static class RetentionApi
{
    public static RouteGroupBuilder MapRetentionApi(this IEndpointRouteBuilder endpoints)
    {
        var operators = endpoints.MapGroup("/api").WithTags("Retention").RequireOperator();
        operators.MapPost("/erasure", Erase);
        operators.MapPost("/retention/run", RunNow);
        operators.MapGet("/retention", LastRun);
        return operators;
    }

    /// <summary>The body of <c>POST /api/erasure</c>: the recipient's CPR number (DDMMYYSSSS or DDMMYY-SSSS) or CVR number.</summary>
    public sealed record ErasureRequest(string? RecipientId);

    private static async Task<Ok<ErasureReport>> Erase(ErasureRequest? body, IGrainFactory grains)
    {
        var (kind, id) = Recipient(body?.RecipientId);
        return TypedResults.Ok(await grains.GetGrain<IRetentionGrain>(0).Erase(kind, id));
    }

    /// <summary>Runs the job at once rather than at its next wake-up (a first run after setting a period, say). A run over
    /// millions of letters outlasts a grain call's 30-second deadline: leave those to the schedule.</summary>
    private static async Task<Ok<RetentionRun>> RunNow(IGrainFactory grains) => TypedResults.Ok(await grains.GetGrain<IRetentionGrain>(0).Run());

    private static async Task<Results<Ok<RetentionRun>, NoContent>> LastRun(IGrainFactory grains) =>
        await grains.GetGrain<IRetentionGrain>(0).LastRun() is { } run ? TypedResults.Ok(run) : TypedResults.NoContent();

    private static (RecipientKind Kind, string Id) Recipient(string? value)
    {
        if (string.IsNullOrWhiteSpace(value)) throw Invalid("is missing; give the recipient's CPR number (10 digits) or CVR number (8 digits)");
        var trimmed = value.Trim();
        if (trimmed.Length == 8 && trimmed.All(char.IsAsciiDigit))
            return Cvr.IsValid(trimmed) ? (RecipientKind.Cvr, trimmed) : throw Invalid("is not a CVR number: its modulus-11 check fails");
        var cpr = Cpr.Check(trimmed);
        return cpr.IsValid ? (RecipientKind.Cpr, Cpr.Normalise(trimmed)) : throw Invalid(cpr.Error ?? "is not a CPR number");
    }

    private static ValidationException Invalid(string reason) => new([new ValidationError("recipientId", Cpr.Redact(reason))]);
}
