using System.Text.Json;
using DigitalPost.Domain;
using DigitalPost.Domain.MassSending;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.HttpResults;
using Orleans.Runtime;

namespace DigitalPost.Silo;

/// <summary>Every error of the API as an RFC 7807 problem-details answer, decided in one place: what the caller got
/// wrong is a 4xx naming the field, the row or the position; anything else is a 500 that tells the caller nothing of
/// the platform's insides.</summary>
/// <remarks>An exception this handler answers is not logged by ASP.NET Core, which would write its message, and
/// messages of parsers quote their input: a CPR number in a CSV row or a multipart part would reach the log. The
/// caller's mistakes are therefore not logged at all, and the platform's own failures are logged here, redacted.</remarks>
public sealed class ProblemHandler(ILogger<ProblemHandler> log) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext http, Exception exception, CancellationToken cancellationToken)
    {
        IResult answer = exception switch
        {
            ValidationException invalid => Problems.Invalid(invalid.Errors),
            CsvHeaderException header => TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["header"] = [.. header.Problems] },
                title: "The header row of the CSV file cannot be used, so none of its rows was read"),
            BadHttpRequestException { InnerException: JsonException json } => Problems.BadJson("body", json),
            BadHttpRequestException bad => TypedResults.Problem(statusCode: bad.StatusCode, title: "The request cannot be read",
                // The framework's own sentences, though a binding failure quotes the value it could not bind.
                detail: Cpr.Redact(bad.Message)),
            // A grain call that timed out, or a silo that went away under it: the platform is overloaded or failing
            // over, not broken. The caller may retry (every write is idempotent by its id); the request may or may
            // not have taken effect.
            TimeoutException or OrleansMessageRejectionException or SiloUnavailableException => Busy(http, exception),
            _ => Failed(http, exception),
        };
        await answer.ExecuteAsync(http);
        return true;
    }

    private ProblemHttpResult Busy(HttpContext http, Exception exception)
    {
        log.LogWarning("{Method} {Endpoint} answered 503: {Reason}", http.Request.Method, http.GetEndpoint()?.DisplayName ?? "(no endpoint)",
            Cpr.Redact(exception.Message));
        http.Response.Headers.RetryAfter = "5";
        return TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "The platform did not answer in time",
            detail: "It is overloaded or a silo is failing over. The request may or may not have taken effect; sending it again is safe, as every request is idempotent by its id.");
    }

    private ProblemHttpResult Failed(HttpContext http, Exception exception)
    {
        log.LogError("{Method} {Endpoint} failed: {Exception}", http.Request.Method,
            http.GetEndpoint()?.DisplayName ?? "(no endpoint)", Cpr.Redact(exception.ToString()));
        return TypedResults.Problem(title: "The platform failed to handle the request", statusCode: StatusCodes.Status500InternalServerError);
    }
}

public static class Problems
{
    /// <summary>The multipart reader's complaints about the body; an I/O error of a spool file or of the connection
    /// (Kestrel's <see cref="BadHttpRequestException"/>, which is an <see cref="IOException"/>) is not one.</summary>
    public static bool IsMalformedMultipart(Exception e) =>
        e is InvalidDataException or IOException and not BadHttpRequestException
        && e.Source == typeof(Microsoft.AspNetCore.WebUtilities.MultipartReader).Assembly.GetName().Name;

    /// <summary>The reader's own message is not passed on: it may quote the raw part.</summary>
    public static ValidationException MalformedMultipart() => new([new ValidationError("body",
        "is not a well-formed multipart/form-data body: the boundary of its Content-Type never comes, " +
        "a part is cut off before its closing boundary, or a part's headers are malformed or too long")]);

    public static ValidationProblem Invalid(IEnumerable<ValidationError> errors) =>
        TypedResults.ValidationProblem(errors.GroupBy(e => e.Field).ToDictionary(g => g.Key, g => g.Select(e => e.Reason).ToArray()));

    public static ValidationProblem BadJson(string field, JsonException json) =>
        Invalid([new ValidationError(field, WhereJsonFails(json))]);

    /// <summary>Where a JSON document fails, from the exception's position. Its message is not used: it quotes the
    /// offending token, which may be personal data.</summary>
    public static string WhereJsonFails(JsonException json)
    {
        var at = json.LineNumber is { } line && json.BytePositionInLine is { } position
            ? $" at line {line + 1}, byte {position + 1}"
            : "";
        // The path is made of the input's property names: shortened, and with CPR-shaped names masked.
        var path = json.Path is { Length: > 1 } inside ? $" (in {Cpr.Redact(inside.Length > 200 ? inside[..200] + "…" : inside)})" : "";
        return $"is not valid JSON for this request{at}{path}: a value is malformed, missing, of the wrong type, or not one of the allowed values";
    }
}
