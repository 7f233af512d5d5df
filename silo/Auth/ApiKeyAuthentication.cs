using System.Net.Http.Headers;
using System.Security.Claims;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace DigitalPost.Silo.Auth;

/// <summary>The claims a caller's principal carries besides its id (<see cref="ClaimTypes.NameIdentifier"/>), name and
/// role (<see cref="ClaimTypes.Role"/>).</summary>
public static class PlatformClaims
{
    /// <summary>The CVR number of the authority or organisation the caller acts for.</summary>
    public const string Cvr = "dp:cvr";
    /// <summary>A receiver system's id within its organisation.</summary>
    public const string ReceiverSystem = "dp:receiver-system";

    public static ClaimsPrincipal PrincipalOf(Credential credential, string scheme)
    {
        var claims = new List<Claim>
        {
            new(ClaimTypes.NameIdentifier, credential.Id),
            new(ClaimTypes.Name, credential.Name),
            new(ClaimTypes.Role, credential.Role.ToString()),
        };
        if (credential.Cvr is { } cvr) claims.Add(new(Cvr, cvr));
        if (credential.ReceiverSystemId is { } system) claims.Add(new(ReceiverSystem, system));
        return new ClaimsPrincipal(new ClaimsIdentity(claims, scheme, ClaimTypes.Name, ClaimTypes.Role));
    }

    public static string Id(this ClaimsPrincipal user) => user.FindFirstValue(ClaimTypes.NameIdentifier) ?? "";

    public static string? CvrOf(this ClaimsPrincipal user) => user.FindFirstValue(Cvr);

    /// <summary>The receiver system key (<c>cvr/systemId</c>) of a receiver system's principal.</summary>
    public static string? ReceiverSystemKeyOf(this ClaimsPrincipal user) =>
        user.CvrOf() is { } cvr && user.FindFirstValue(ReceiverSystem) is { } system ? Contracts.ReceiverSystemKey.Of(cvr, system) : null;
}

/// <summary>One scheme for every credential: an API key in <c>X-Api-Key</c>, or NgDP's
/// <c>Authorization: Basic base64(systemId:apiToken)</c>, where the system id is the credential's id and the token its
/// key. Both name the same identities. A request with neither is anonymous (401 where a role is required); a key that
/// is unknown, revoked, or not the named credential's fails.</summary>
public sealed class ApiKeyAuthenticationHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, Credentials credentials)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string Header = "X-Api-Key";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string key;
        string? claimedId = null;
        if (Request.Headers.TryGetValue(Header, out var header)) key = header.ToString();
        else if (AuthenticationHeaderValue.TryParse(Request.Headers.Authorization, out var authorization)
                 && authorization.Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase))
        {
            if (Basic(authorization.Parameter) is not { } pair) return AuthenticateResult.Fail("The Basic credentials are not base64(systemId:apiToken)");
            (claimedId, key) = pair;
        }
        else return AuthenticateResult.NoResult();

        var credential = await credentials.Authenticate(key);
        if (credential is null || claimedId is not null && claimedId != credential.Id)
            return AuthenticateResult.Fail("Unknown or revoked credentials");
        return AuthenticateResult.Success(new AuthenticationTicket(PlatformClaims.PrincipalOf(credential, SchemeName), SchemeName));
    }

    private static (string Id, string Key)? Basic(string? parameter)
    {
        try
        {
            var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(parameter ?? ""));
            var colon = decoded.IndexOf(':');
            return colon > 0 ? (decoded[..colon], decoded[(colon + 1)..]) : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>401 as problem details. The Basic challenge lets a browser ask an operator for the dashboard's
    /// credentials (id and key).</summary>
    /// <remarks>The NgDP face answers with NgDP's own error body, which its sender systems read.</remarks>
    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.Headers.WWWAuthenticate = "Basic realm=\"Digital Post\", charset=\"UTF-8\"";
        return (IsNgdp
            ? Ngdp.NgdpJson.Error(StatusCodes.Status401Unauthorized, "UNAUTHORIZED", "A sender system authenticates with Authorization: Basic base64(systemId:apiToken)")
            : Results.Problem(statusCode: StatusCodes.Status401Unauthorized,
                title: $"Credentials are required: an API key in the {Header} header, or Authorization: Basic base64(id:key)")).ExecuteAsync(Context);
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        (IsNgdp
            ? Ngdp.NgdpJson.Error(StatusCodes.Status403Forbidden, "FORBIDDEN",
                $"These credentials do not allow this request: the caller is {Context.User.Identity?.Name} ({Context.User.FindFirstValue(ClaimTypes.Role)})")
            : Results.Problem(statusCode: StatusCodes.Status403Forbidden,
                title: "These credentials do not allow this request", detail: $"The caller is {Context.User.Identity?.Name} ({Context.User.FindFirstValue(ClaimTypes.Role)}).")).ExecuteAsync(Context);

    private bool IsNgdp => Request.Path.StartsWithSegments(Ngdp.NgdpApi.Prefix, StringComparison.OrdinalIgnoreCase);
}
