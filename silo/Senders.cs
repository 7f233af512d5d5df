using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace DigitalPost.Silo;

/// <summary>A sender system allowed to submit merge batches: its API key, and the authority it sends for.</summary>
public sealed class SenderAccount
{
    public string ApiKey { get; set; } = "";
    /// <summary>The sending authority's name on the letters.</summary>
    public string Name { get; set; } = "";
    /// <summary>The sending authority's CVR.</summary>
    public string Cvr { get; set; } = "";
}

public sealed record AuthenticatedSender(string Id, string Name, string Cvr);

/// <summary>The sender systems from configuration (<c>Senders:{id}:ApiKey|Name|Cvr</c>). Keys are held and compared
/// as SHA-256 hashes, so a lookup's timing tells nothing about a key.</summary>
public sealed class SenderDirectory
{
    public const string Section = "Senders";
    public const string ApiKeyHeader = "X-Api-Key";
    private readonly Dictionary<string, AuthenticatedSender> _byKeyHash;

    public SenderDirectory(IOptions<Dictionary<string, SenderAccount>> senders) =>
        _byKeyHash = senders.Value.Where(s => s.Value.ApiKey.Length > 0)
            .ToDictionary(s => Hash(s.Value.ApiKey), s => new AuthenticatedSender(s.Key, s.Value.Name, s.Value.Cvr));

    public AuthenticatedSender? Authenticate(string? apiKey) =>
        string.IsNullOrEmpty(apiKey) ? null : _byKeyHash.GetValueOrDefault(Hash(apiKey));

    private static string Hash(string key) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
}

public static class SenderAuthentication
{
    private const string Item = "dp.sender";

    /// <summary>Requires a known sender's API key on every endpoint of the group; the sender is then a parameter.</summary>
    public static RouteGroupBuilder RequireSender(this RouteGroupBuilder group) => group.AddEndpointFilter(async (context, next) =>
    {
        var directory = context.HttpContext.RequestServices.GetRequiredService<SenderDirectory>();
        var sender = directory.Authenticate(context.HttpContext.Request.Headers[SenderDirectory.ApiKeyHeader]);
        if (sender is null)
            return Results.Problem(statusCode: 401, title: $"A sender system's API key is required in the {SenderDirectory.ApiKeyHeader} header");
        context.HttpContext.Items[Item] = sender;
        return await next(context);
    });

    public static AuthenticatedSender Sender(this HttpContext context) => (AuthenticatedSender)context.Items[Item]!;
}
