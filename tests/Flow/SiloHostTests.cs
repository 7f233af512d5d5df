using System.Net;
using System.Net.Http.Json;
using DigitalPost.Contracts;
using DigitalPost.LoadGen.Receivers;
using DigitalPost.Silo;
using DigitalPost.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace DigitalPost.Tests.Flow;

/// <summary>The silo as its process runs it (the embedded default), used by another service through an Orleans
/// client and by operators through the health endpoint and the dashboard.</summary>
public sealed class SiloHostTests
{
    [Fact]
    public async Task Started_from_another_folder_the_silo_reads_its_configuration_and_the_files_it_names_from_beside_its_dll()
    {
        var elsewhere = Directory.CreateTempSubdirectory("digitalpost-cwd");
        await using var silo = SiloProcess.Start(new Dictionary<string, string>
        {
            ["environment"] = "Demo", ["Orleans:ClusterId"] = $"test-{Guid.NewGuid():N}", ["Logging:LogLevel:Default"] = "Warning",
        }, elsewhere.FullName);
        await silo.WaitUntilHealthy(TimeSpan.FromSeconds(60));

        using var demo = new HttpClient { BaseAddress = silo.Url };
        demo.DefaultRequestHeaders.Add("X-Api-Key", "demo-key");
        // The Demo sender comes from appsettings.Demo.json, and Karen Jensen from the registry file it names.
        RecipientInfo? karen = null;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline && karen?.Verdict != RecipientVerdict.DigitalPost)
        {
            using var found = await demo.GetAsync("/api/recipients/1204750005");
            Assert.NotEqual(HttpStatusCode.Unauthorized, found.StatusCode);
            karen = found.IsSuccessStatusCode ? await found.Content.ReadFromJsonAsync<RecipientInfo>(PlatformJson.Options) : null;
            await Task.Delay(200);
        }
        Assert.Equal(RecipientVerdict.DigitalPost, karen?.Verdict);
        // The Demo environment's operator, as its README names it.
        using var operatorClient = new HttpClient { BaseAddress = silo.Url, DefaultRequestHeaders = { { "X-Api-Key", "demo-operator-key" } } };
        using var operations = await operatorClient.GetAsync("/api/operations");
        Assert.Equal(HttpStatusCode.OK, operations.StatusCode);
    }

    [Fact]
    public async Task Another_service_delivers_a_message_through_an_Orleans_client_and_operators_see_health_dashboard_and_the_process()
    {
        var (http, silo, gateway) = (LoopbackPorts.Free(), LoopbackPorts.Free(), LoopbackPorts.Free());
        var clusterId = $"test-{Guid.NewGuid():N}";
        var mail = Directory.CreateTempSubdirectory("digitalpost-mail");
        var builder = WebApplication.CreateBuilder(
        [
            "--urls", $"http://127.0.0.1:{http}", "--Orleans:SiloPort", $"{silo}", "--Orleans:GatewayPort", $"{gateway}",
            "--Orleans:ClusterId", clusterId, "--Smtp:PickupDirectory", mail.FullName, "--Logging:LogLevel:Default", "Warning",
            "--Operators:ops:ApiKey", "ops-key", "--Senders:beta:ApiKey", "beta-key", "--Senders:beta:Name", "Beta", "--Senders:beta:Cvr", "12345674",
        ]);
        builder.AddDigitalPostSilo();
        await using var app = builder.Build();
        app.MapDigitalPost();
        await app.StartAsync();
        var platformUrl = new Uri($"http://127.0.0.1:{http}");
        await using var receivers = await ReceiverSimulator.Start(platformUrl);

        var clientBuilder = Host.CreateApplicationBuilder();
        clientBuilder.UseOrleansClient(c => c.UseLocalhostClustering(gateway, "digitalpost", clusterId));
        using var clientHost = clientBuilder.Build();
        await clientHost.StartAsync();
        var client = clientHost.Services.GetRequiredService<IClusterClient>();

        var cvr = PlatformFixture.NewCvr();
        var organisation = client.GetGrain<IOrganisationGrain>(cvr);
        await organisation.Register(new OrganisationRegistration("Klient A/S"));
        await organisation.UpsertReceiverSystem(new ReceiverSystemRegistration("erp", receivers.EndpointOf("erp"), "drift@klient.dk", IsPrimary: true));
        using var operatorClient = new HttpClient { BaseAddress = platformUrl, DefaultRequestHeaders = { { "X-Api-Key", "ops-key" } } };
        using (var issued = await operatorClient.PostAsJsonAsync("/api/credentials",
                   new DigitalPost.Silo.Auth.CredentialRequest(DigitalPost.Silo.Auth.Role.ReceiverSystem, "erp", cvr, "erp"), PlatformJson.Options))
            receivers.SetApiKey("erp", (await issued.Content.ReadFromJsonAsync<DigitalPost.Silo.Auth.IssuedCredential>(PlatformJson.Options))!.ApiKey);
        var message = PlatformFixture.NewMessage(cvr, contactPointId: null);
        var submitted = await client.GetGrain<IMessageGrain>(message.Header.MessageUuid).Submit(message);
        Assert.Equal(SubmitOutcome.Accepted, submitted.Outcome);

        MessageStatusView? status = null;
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (DateTime.UtcNow < deadline && (status = await client.GetGrain<IMessageGrain>(message.Header.MessageUuid).GetStatus())?.Status != MessageStatus.Delivered)
            await Task.Delay(50);
        Assert.Equal(MessageStatus.Delivered, status?.Status);

        // Health is open; the dashboard is the operators' (a browser is asked for Basic credentials: id and key).
        using var anonymous = new HttpClient { BaseAddress = platformUrl };
        using var health = await anonymous.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Contains("\"status\":\"Healthy\"", await health.Content.ReadAsStringAsync());
        using var refused = await anonymous.GetAsync("/dashboard/");
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.StartsWith("Basic", refused.Headers.WwwAuthenticate.ToString());
        using var basic = new HttpClient { BaseAddress = platformUrl };
        basic.DefaultRequestHeaders.Authorization = new("Basic", Convert.ToBase64String("ops:ops-key"u8.ToArray()));
        using var dashboard = await basic.GetAsync("/dashboard/");
        Assert.Equal(HttpStatusCode.OK, dashboard.StatusCode);
        Assert.Contains("text/html", dashboard.Content.Headers.ContentType?.MediaType);
        using var sender = new HttpClient { BaseAddress = platformUrl, DefaultRequestHeaders = { { "X-Api-Key", "beta-key" } } };
        Assert.Contains("Delivered", await sender.GetStringAsync($"/api/messages/{message.Header.MessageUuid}"));
        // What the silo process has cost, garbage collection included: a silo that delivered a message has allocated.
        using var operations = System.Text.Json.JsonDocument.Parse(await operatorClient.GetStringAsync("/api/operations"));
        var process = operations.RootElement.GetProperty("process");
        Assert.True(process.GetProperty("allocatedBytes").GetInt64() > 0);
        Assert.True(process.GetProperty("cpuSeconds").GetDouble() > 0);
        var (gen0, gen1, gen2) = (process.GetProperty("gen0Collections").GetInt32(), process.GetProperty("gen1Collections").GetInt32(), process.GetProperty("gen2Collections").GetInt32());
        Assert.True(gen0 >= gen1 && gen1 >= gen2 && gen2 >= 0, $"collections by generation: {gen0}, {gen1}, {gen2}");
        Assert.True(process.GetProperty("gcPauseSeconds").GetDouble() >= 0);

        await clientHost.StopAsync();
        await app.StopAsync();
        mail.Delete(recursive: true);
    }
}
