using System.Security.Claims;
using Microsoft.AspNetCore.Authorization;

namespace DigitalPost.Silo.Auth;

/// <summary>The authorization policies of the HTTP API, one per role, applied to endpoint groups with the extension
/// methods below. An endpoint that names none falls to <see cref="Operator"/>: nothing is open by omission.</summary>
public static class Policies
{
    public const string Operator = "operator";
    public const string Sender = "sender";
    public const string ReceiverSystem = "receiver-system";
    public const string Mailbox = "mailbox";
    /// <summary>The administrator of the organisation named by the route's <c>{cvr}</c>, or an operator.</summary>
    public const string OrganisationAdmin = "organisation-admin";

    public static IServiceCollection AddDigitalPostAuth(this IServiceCollection services)
    {
        services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        services.AddSingleton<IAuthorizationHandler, OrganisationAdminHandler>();
        services.AddAuthorizationBuilder()
            .AddPolicy(Operator, p => p.RequireRole(nameof(Role.Operator)))
            .AddPolicy(Sender, p => p.RequireRole(nameof(Role.Sender)))
            .AddPolicy(ReceiverSystem, p => p.RequireRole(nameof(Role.ReceiverSystem)))
            .AddPolicy(Mailbox, p => p.RequireRole(nameof(Role.Mailbox)))
            .AddPolicy(OrganisationAdmin, p => p.RequireAuthenticatedUser().AddRequirements(new OrganisationAdminRequirement()))
            .SetFallbackPolicy(new AuthorizationPolicyBuilder().RequireRole(nameof(Role.Operator)).Build());
        return services;
    }

    public static TBuilder RequireOperator<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder => builder.RequireAuthorization(Operator);

    public static TBuilder RequireSender<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder => builder.RequireAuthorization(Sender);

    public static TBuilder RequireReceiverSystem<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder => builder.RequireAuthorization(ReceiverSystem);

    public static TBuilder RequireMailbox<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder => builder.RequireAuthorization(Mailbox);

    /// <summary>For endpoints under a route with <c>{cvr}</c>: that organisation's administrator, or an operator.</summary>
    public static TBuilder RequireOrganisationAdmin<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder => builder.RequireAuthorization(OrganisationAdmin);

    /// <summary>Authentication, then authorization, after routing has chosen the endpoint whose policy applies.</summary>
    public static IApplicationBuilder UseDigitalPostAuth(this IApplicationBuilder app) => app.UseAuthentication().UseAuthorization();
}

public sealed class OrganisationAdminRequirement : IAuthorizationRequirement;

/// <summary>The organisation is the route's <c>{cvr}</c> (endpoint routing passes the request as the resource).</summary>
public sealed class OrganisationAdminHandler : AuthorizationHandler<OrganisationAdminRequirement>
{
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, OrganisationAdminRequirement requirement)
    {
        var user = context.User;
        if (user.IsInRole(nameof(Role.Operator))
            || user.IsInRole(nameof(Role.OrganisationAdmin)) && context.Resource is HttpContext http
               && http.GetRouteValue("cvr") is string cvr && user.FindFirstValue(PlatformClaims.Cvr) == cvr)
            context.Succeed(requirement);
        return Task.CompletedTask;
    }
}
