using System.Net.Http.Json;
using DigitalPost.Contracts;
using DigitalPost.Silo;
using DigitalPost.Tests.Support;
using Microsoft.AspNetCore.Builder;

namespace DigitalPost.Tests.Postgres;

/// <summary>The silo as its process runs it, switched to PostgreSQL by one setting.</summary>
public sealed class PostgresSiloTests(PostgresServerFixture postgres) : IClassFixture<PostgresServerFixture>
{
    private const string OperatorKey = "varig-operator-key";

    [Fact]
    public async Task One_setting_puts_the_silo_on_PostgreSQL_and_what_it_stored_survives_a_restart()
    {
        var connectionString = await postgres.Server.CreateDatabaseAsync();
        var cvr = PlatformFixture.NewCvr();
        var http = LoopbackPorts.Free();

        await using (var first = await StartSilo(connectionString, http))
        {
            using var web = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{http}"), DefaultRequestHeaders = { { "X-Api-Key", OperatorKey } } };
            using var put = await web.PutAsJsonAsync($"/api/organisations/{cvr}", new OrganisationRegistration("Varig A/S"), PlatformJson.Options);
            put.EnsureSuccessStatusCode();
            await first.StopAsync();
        }

        await using var second = await StartSilo(connectionString, http);
        using var again = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{http}"), DefaultRequestHeaders = { { "X-Api-Key", OperatorKey } } };
        var view = await again.GetFromJsonAsync<OrganisationView>($"/api/organisations/{cvr}", PlatformJson.Options);
        Assert.Equal("Varig A/S", view?.Name);

        // Membership is in the database too: the stopped silo as dead (6), the running one as active (3).
        Assert.Equal(["3", "6"], await PostgresServer.Strings(connectionString, "SELECT status FROM orleansmembershiptable ORDER BY status"));
        await second.StopAsync();
    }

    private static async Task<WebApplication> StartSilo(string connectionString, int http)
    {
        var builder = WebApplication.CreateBuilder(
        [
            "--urls", $"http://127.0.0.1:{http}", "--Orleans:SiloPort", $"{LoopbackPorts.Free()}", "--Orleans:GatewayPort", $"{LoopbackPorts.Free()}",
            "--Orleans:ClusterId", $"pg-{Guid.NewGuid():N}", "--Storage:Provider", "PostgreSQL", "--Storage:ConnectionString", connectionString,
            "--Logging:LogLevel:Default", "Warning", "--Operators:varig:ApiKey", OperatorKey,
        ]);
        builder.AddDigitalPostSilo();
        var app = builder.Build();
        app.MapDigitalPost();
        await app.StartAsync();
        return app;
    }
}
