using System.Text.RegularExpressions;
using DigitalPost.Domain;
using DigitalPost.Contracts;
using DigitalPost.Domain.MassSending;

namespace DigitalPost.Silo.Auth;

/// <summary>A credential to issue. <see cref="Id"/> is how the system names itself (a sender system's id, which its
/// batches and webhook are kept under; NgDP's systemId); without one the platform makes one.</summary>
public sealed record CredentialRequest(Role? Role, string Name, string? Cvr = null, string? ReceiverSystemId = null, string? Id = null);

/// <summary>A credential with its key: the only answer that ever carries the key.</summary>
public sealed record IssuedCredential(Credential Credential, string ApiKey);

/// <summary>The operators' API for credentials and the audit log.</summary>
public static partial class CredentialsApi
{
    public static IEndpointRouteBuilder MapCredentialsApi(this IEndpointRouteBuilder endpoints)
    {
        var operators = endpoints.MapGroup("/api").RequireOperator();
        var credentials = operators.MapGroup("/credentials");
        credentials.MapPost("", async (CredentialRequest body, HttpContext http, ICredentialStore store, Credentials known, TimeProvider time) =>
        {
            var role = body.Role ?? throw new ValidationException([new ValidationError("role", "is required: Operator, Sender, OrganisationAdmin or ReceiverSystem")]);
            var id = body.Id ?? $"{role.ToString().ToLowerInvariant()}-{Guid.NewGuid().ToString("N")[..12]}";
            Check(body, role, id);
            return await Issue(http, new Credential(id, role, body.Name.Trim(), body.Cvr, role == Role.ReceiverSystem ? body.ReceiverSystemId : null, time.GetUtcNow()),
                $"/api/credentials/{id}", store, known);
        });
        credentials.MapGet("", async (ICredentialStore store, Credentials known) => Results.Ok(known.FromConfiguration.Concat(await store.List())));
        credentials.MapGet("/{id}", async (string id, ICredentialStore store, Credentials known) =>
            (known.FromConfiguration.FirstOrDefault(c => c.Id == id) ?? await store.Find(id)) is { } found ? Results.Ok(found) : NotFound(id));
        credentials.MapPost("/{id}/rotate", async (string id, HttpContext http, ICredentialStore store, Credentials known, TimeProvider time) =>
        {
            if (known.IsConfigured(id)) return FromConfiguration(id);
            var before = await store.Find(id);
            var key = ApiKeys.Generate();
            if (!await store.Rotate(id, ApiKeys.Hash(key), time.GetUtcNow())) return NotFound(id);
            var after = await store.Find(id);
            await http.Record("credential rotated", $"/api/credentials/{id}", before, after);
            return Results.Ok(new IssuedCredential(after!, key));
        });
        credentials.MapDelete("/{id}", async (string id, HttpContext http, ICredentialStore store, Credentials known, TimeProvider time) =>
        {
            if (known.IsConfigured(id)) return FromConfiguration(id);
            var before = await store.Find(id);
            if (!await store.Revoke(id, time.GetUtcNow())) return NotFound(id);
            var after = await store.Find(id);
            await http.Record("credential revoked", $"/api/credentials/{id}", before, after);
            return Results.Ok(after);
        });

        operators.MapGet("/audit", async (IAuditLog audit, int? skip, int? take) =>
            Results.Ok(await audit.Page(Math.Max(skip ?? 0, 0), Math.Clamp(take ?? 100, 1, 1000))));
        return endpoints;
    }

    /// <summary>An organisation's administrator issues, lists and revokes the keys of the organisation's own receiver
    /// systems (an operator may too): the route names the organisation and the system, so no other can be named.</summary>
    public static IEndpointRouteBuilder MapReceiverSystemCredentialsApi(this IEndpointRouteBuilder endpoints)
    {
        var system = endpoints.MapGroup("/api/organisations/{cvr}/receiver-systems/{systemId}/credentials").RequireOrganisationAdmin();
        system.MapPost("", async (string cvr, string systemId, ReceiverSystemCredentialRequest? body, HttpContext http, IGrainFactory grains,
            ICredentialStore store, Credentials known, TimeProvider time) =>
        {
            if (await grains.GetGrain<IOrganisationGrain>(cvr).GetReceiverSystemSettings(systemId) is null) return NoSystem(cvr, systemId);
            var id = $"receiversystem-{Guid.NewGuid().ToString("N")[..12]}";
            var name = string.IsNullOrWhiteSpace(body?.Name) ? $"Receiver system {systemId} of {cvr}" : body.Name.Trim();
            return await Issue(http, new Credential(id, Role.ReceiverSystem, name, cvr, systemId, time.GetUtcNow()), $"{http.Request.Path}/{id}", store, known);
        });
        system.MapGet("", async (string cvr, string systemId, ICredentialStore store) => Results.Ok(await Of(store, cvr, systemId)));
        // Revoking a revoked key again answers it as it is and records nothing: the administrator's intent holds.
        system.MapDelete("/{id}", async (string cvr, string systemId, string id, HttpContext http, ICredentialStore store, TimeProvider time) =>
        {
            var before = (await Of(store, cvr, systemId)).FirstOrDefault(c => c.Id == id);
            if (before is null) return NotFound(id);
            if (before.RevokedAt is not null || !await store.Revoke(id, time.GetUtcNow())) return Results.Ok(before);
            var after = await store.Find(id);
            await http.Record("credential revoked", http.Request.Path.Value ?? "", before, after);
            return Results.Ok(after);
        });
        return endpoints;
    }

    /// <summary>The body of <c>POST .../receiver-systems/{systemId}/credentials</c>: who the key is for (optional).</summary>
    public sealed record ReceiverSystemCredentialRequest(string? Name);

    private static async Task<IReadOnlyList<Credential>> Of(ICredentialStore store, string cvr, string systemId) =>
        [.. (await store.List()).Where(c => c.Role == Role.ReceiverSystem && c.Cvr == cvr && c.ReceiverSystemId == systemId)];

    private static async Task<IResult> Issue(HttpContext http, Credential credential, string location, ICredentialStore store, Credentials known)
    {
        var key = ApiKeys.Generate();
        if (known.IsConfigured(credential.Id) || !await store.Add(credential, ApiKeys.Hash(key)))
            return Results.Problem(statusCode: StatusCodes.Status409Conflict, title: $"A credential with the id '{credential.Id}' exists already");
        await http.Record("credential issued", location, null, credential);
        return Results.Created(location, new IssuedCredential(credential, key));
    }

    private static IResult NoSystem(string cvr, string systemId) => Results.Problem(statusCode: StatusCodes.Status404NotFound,
        title: $"The organisation {cvr} has no receiver system '{systemId}'");

    private static void Check(CredentialRequest body, Role role, string id)
    {
        var errors = new List<ValidationError>();
        if (!IdPattern().IsMatch(id)) errors.Add(new("id", "is 1 to 100 letters, digits, '.', '_' or '-' (it is the system id of Basic authentication, so never ':')"));
        if (string.IsNullOrWhiteSpace(body.Name)) errors.Add(new("name", "is required: who the credential is for"));
        if (role == Role.Operator && (body.Cvr is not null || body.ReceiverSystemId is not null))
            errors.Add(new("cvr", "is not given for an operator, who acts for the platform"));
        if (role != Role.Operator && Cvr.Check(body.Cvr) is { } cvrError) errors.Add(new("cvr", Cpr.Redact(cvrError)));
        if (role == Role.ReceiverSystem && string.IsNullOrWhiteSpace(body.ReceiverSystemId))
            errors.Add(new("receiverSystemId", "is required for a receiver system: its id within the organisation"));
        if (errors.Count > 0) throw new ValidationException(errors);
    }

    private static IResult NotFound(string id) => Results.Problem(statusCode: StatusCodes.Status404NotFound, title: $"No active credential '{id}'");

    private static IResult FromConfiguration(string id) => Results.Problem(statusCode: StatusCodes.Status409Conflict,
        title: $"The credential '{id}' comes from configuration: change or remove it there");

    [GeneratedRegex("^[A-Za-z0-9._-]{1,100}$")]
    private static partial Regex IdPattern();
}
