using System.Security.Claims;
using DigitalPost.Silo.Auth;

namespace DigitalPost.Silo;

/// <summary>The sender system a request comes from: its id (its batches, webhook and archive are kept under it), and
/// the authority it sends for.</summary>
public sealed record AuthenticatedSender(string Id, string Name, string Cvr);

public static class SenderAuthentication
{
    /// <summary>The caller of an endpoint that requires the sender policy (<see cref="Policies.RequireSender"/>).</summary>
    public static AuthenticatedSender Sender(this HttpContext context) =>
        context.User.IsInRole(nameof(Role.Sender))
            ? new(context.User.Id(), context.User.FindFirstValue(ClaimTypes.Name) ?? "", context.User.CvrOf() ?? "")
            : throw new InvalidOperationException($"{context.Request.Path} is not an endpoint of sender systems: it has no sender.");
}
