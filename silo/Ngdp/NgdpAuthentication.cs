using System.Text;

namespace DigitalPost.Silo.Ngdp;

/// <summary>Sender systems on the NgDP face authenticate as NgDP has it, with <c>Authorization: Basic
/// base64(systemId:apiToken)</c>: the system id is the sender's id in <see cref="SenderDirectory"/> and the token its API
/// key, so a sender has the same identity here as with <c>X-Api-Key</c> (also taken). Kept to this one filter so that it
/// can give way to the platform's authentication scheme and a policy.</summary>
public static class NgdpAuthentication
{
    private const string Item = "dp.ngdp-sender";

    public static RouteGroupBuilder RequireNgdpSender(this RouteGroupBuilder group) => group.AddEndpointFilter(async (context, next) =>
    {
        var http = context.HttpContext;
        if (Authenticate(http) is not { } sender)
        {
            http.Response.Headers.WWWAuthenticate = "Basic realm=\"NgDP\", charset=\"UTF-8\"";
            return NgdpJson.Error(StatusCodes.Status401Unauthorized, "UNAUTHORIZED",
                "A sender system authenticates with Authorization: Basic base64(systemId:apiToken)");
        }
        http.Items[Item] = sender;
        return await next(context);
    });

    public static AuthenticatedSender NgdpSender(this HttpContext http) => (AuthenticatedSender)http.Items[Item]!;

    private static AuthenticatedSender? Authenticate(HttpContext http)
    {
        var directory = http.RequestServices.GetRequiredService<SenderDirectory>();
        var authorization = http.Request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            string credentials;
            try { credentials = Encoding.UTF8.GetString(Convert.FromBase64String(authorization[6..].Trim())); }
            catch (FormatException) { return null; }
            var colon = credentials.IndexOf(':');
            if (colon <= 0) return null;
            var sender = directory.Authenticate(credentials[(colon + 1)..]);
            return sender?.Id == credentials[..colon] ? sender : null;
        }
        return directory.Authenticate(http.Request.Headers[SenderDirectory.ApiKeyHeader]);
    }
}
