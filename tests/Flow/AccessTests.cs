using System.Net;
using System.Net.Http.Json;
using System.Text;
using DigitalPost.Contracts;
using DigitalPost.Silo;
using DigitalPost.Silo.Auth;
using DigitalPost.Tests.Support;
using static DigitalPost.Tests.Support.Batches;

namespace DigitalPost.Tests.Flow;

/// <summary>Who may call what: every endpoint of the API against every role, for the caller's own resources and
/// another tenant's; credentials issued, rotated and revoked; and the audit log of administrative changes.</summary>
public abstract class AccessTests(PlatformFixture platform)
{
    [Collection(PlatformCollection.Name)]
    public sealed class InMemory(PlatformFixture platform) : AccessTests(platform);

    [Collection(PostgresPlatformCollection.Name)]
    public sealed class OnPostgreSQL(PostgresPlatformFixture platform) : AccessTests(platform);

    /// <summary>One endpoint: the caller whose resource it is (2xx), another tenant of the same role and what it gets,
    /// and other callers that may call it too. Every other caller holds the wrong role (403); no credentials, 401.</summary>
    private sealed record Row(string Method, string Path, Func<HttpContent?> Body, string Own, string? Other = null, HttpStatusCode OtherGets = HttpStatusCode.NotFound,
        string[]? AlsoAllowed = null);

    [Fact]
    public async Task Every_endpoint_answers_401_without_credentials_403_to_a_wrong_role_404_or_403_for_another_tenants_resource_and_2xx_to_its_own()
    {
        var (own, other) = (await platform.Organisation(), await platform.Organisation());
        using var adminOwn = platform.SenderHttp(await platform.IssueKey(Role.OrganisationAdmin, "admin", own.Cvr));
        using var adminOther = platform.SenderHttp(await platform.IssueKey(Role.OrganisationAdmin, "admin", other.Cvr));
        // A message of Beta's authority to the organisation's system "a", delivered; a batch of Alpha's to a citizen.
        var message = await platform.Send(own.Cvr, "cp-a");
        await platform.Settle();
        Assert.Equal(MessageStatus.Delivered, (await platform.Status(message)).Status);
        var (citizen, another) = (NewAdultCpr(), NewAdultCpr());
        await platform.LoadCitizens($"{citizen};Anna;tilmeldt;nej;;", $"{another};Bo;tilmeldt;nej;;");
        var upload = await platform.Alpha.SubmitBatch(new BatchOptions("Adgang"), $"cpr;navn;beloeb\n{citizen};Anna;1,00\n");
        var batch = (await platform.Alpha.WaitFor(upload.Body!.BatchId, s => s.Phase == BatchPhase.Completed && s.ArchiveQueue == 0, "archived")).BatchId;
        var letter = (await platform.Alpha.Letters(batch))[0].MessageUuid!.Value;
        // From here on system "a" fetches its post (REST_PULL): two MeMos wait for it.
        await platform.Put($"/api/organisations/{own.Cvr}/receiver-systems/a",
            new ReceiverSystemBody(null, own.TechnicalContact("a"), IsPrimary: true, Protocol: ReceiverProtocol.RestPull));
        var (waiting, deleted) = (await platform.Send(own.Cvr, "cp-a"), await platform.Send(own.Cvr, "cp-a"));
        await platform.Settle();
        var systemKey = await Issued(adminOwn, $"/api/organisations/{own.Cvr}/receiver-systems/b/credentials");

        var callers = new Dictionary<string, HttpClient>
        {
            ["anonymous"] = platform.Anonymous, ["operator"] = platform.Http, ["alpha"] = platform.Alpha, ["beta"] = platform.Beta,
            ["admin"] = adminOwn, ["other admin"] = adminOther,
            ["receiver"] = platform.ReceiverHttp(own, "a"), ["other receiver"] = platform.ReceiverHttp(other, "a"),
            ["mailbox"] = await platform.MailboxHttp(),
        };
        HttpContent Json(object body) => JsonContent.Create(body, options: PlatformJson.Options);
        HttpContent Csv(string text) => new StringContent(text, Encoding.UTF8, "text/csv");
        Func<HttpContent?> none = () => null;
        var org = $"/api/organisations/{own.Cvr}";
        string[] operators = ["operator"], senders = ["alpha", "beta"];
        Row[] rows =
        [
            new("GET", "/api/operations", none, "operator"),
            new("GET", "/api/registry", none, "operator"),
            new("PUT", "/api/registry/citizens", () => Csv($"cpr;navn;status;nemsms;vaerger;adresse\n{citizen};Anna;tilmeldt;nej;;\n"), "operator"),
            new("PUT", "/api/registry/companies", () => Csv($"cvr;navn;postkasse;pnumre;adresse\n{own.Cvr};Firma;aktiv;;\n"), "operator"),
            new("GET", "/api/print", none, "operator"),
            new("GET", "/api/notifications", none, "operator"),
            new("GET", "/api/retention", none, "operator"),
            new("GET", "/api/credentials", none, "operator"),
            new("GET", "/api/audit", none, "operator"),
            new("PUT", org, () => Json(new OrganisationRegistration($"Organisation {own.Cvr}")), "operator"),
            new("GET", org, none, "admin", "other admin", HttpStatusCode.Forbidden, operators),
            new("PUT", $"{org}/receiver-systems/b", () => Json(new ReceiverSystemBody(platform.Receivers.EndpointOf(own.Simulated("b")), own.TechnicalContact("b"),
                own.BusinessContact("b"))), "admin", "other admin", HttpStatusCode.Forbidden, operators),
            new("GET", $"{org}/receiver-systems/a", none, "admin", "other admin", HttpStatusCode.Forbidden, operators),
            new("POST", $"{org}/receiver-systems/a/reactivate", none, "admin", "other admin", HttpStatusCode.Forbidden, operators),
            new("PUT", $"{org}/contact-points/cp-a", () => Json(new ContactPointBody("Contact point a", "a")), "admin", "other admin", HttpStatusCode.Forbidden, operators),
            new("GET", $"{org}/virk-mailbox", none, "admin", "other admin", HttpStatusCode.Forbidden, operators),
            new("POST", $"{org}/virk-mailbox/move", () => Json(new VirkMoveBody([Guid.NewGuid()], ContactPointId: "cp-a")), "admin", "other admin", HttpStatusCode.Forbidden, operators),
            new("GET", $"{org}/virk-mailbox/moves", none, "admin", "other admin", HttpStatusCode.Forbidden, operators),
            new("POST", $"{org}/receiver-systems/a/credentials", () => Json(new { name = "Ny nøgle" }), "admin", "other admin", HttpStatusCode.Forbidden, operators),
            new("GET", $"{org}/receiver-systems/a/credentials", none, "admin", "other admin", HttpStatusCode.Forbidden, operators),
            new("DELETE", $"{org}/receiver-systems/b/credentials/{systemKey.Credential.Id}", none, "admin", "other admin", HttpStatusCode.Forbidden, operators),
            new("PUT", $"{org}/routing-rules", () => Json(Array.Empty<RoutingRule>()), "admin", "other admin", HttpStatusCode.Forbidden, operators),
            // Post a citizen writes to the organisation, handed on by the citizen's mailbox.
            new("POST", "/api/incoming/messages", () => Json(new Message(new MessageHeader(Guid.NewGuid(), "Henvendelse", new Sender(citizen, IdType: RecipientIdType.Cpr),
                new Recipient(own.Cvr)), new MessageBody(new Document("Henvendelse", [new DocumentFile("h.txt", "text/plain", "Hej"u8.ToArray())])))), "mailbox"),
            // A sender sends only as its own authority: the message's sender is Beta's CVR.
            new("POST", "/api/messages", () => Json(PlatformFixture.NewMessage(own.Cvr, "cp-a")), "beta", "alpha", HttpStatusCode.Forbidden),
            new("GET", $"/api/messages/{message}", none, "beta", "alpha"),
            new("GET", $"/api/messages/{message}/documents/0/files/0", none, "beta", "alpha"),
            new("GET", $"/api/messages/{letter}", none, "alpha", "beta"),
            new("GET", $"/api/letters/{letter}/document.pdf", none, "alpha", "beta"),
            new("GET", $"/api/batches/{batch}", none, "alpha", "beta"),
            new("GET", $"/api/batches/{batch}/letters", none, "alpha", "beta"),
            new("GET", $"/api/batches/{batch}/issues", none, "alpha", "beta"),
            new("POST", $"/api/batches/{batch}/retry-failed", none, "alpha", "beta"),
            new("GET", $"/api/batches/{batch}/rows/1", none, "alpha", "beta"),
            new("GET", $"/api/batches/{batch}/rows/1/letter.pdf", none, "alpha", "beta"),
            new("POST", "/api/batches", () => Form(new BatchOptions("Adgang"), Encoding.UTF8.GetBytes($"cpr;navn;beloeb\n{another};Bo;2,00\n")), "alpha", AlsoAllowed: ["beta"]),
            new("POST", "/api/batches/preview?row=1", () => Form(new BatchOptions("Adgang"), Encoding.UTF8.GetBytes($"cpr;navn;beloeb\n{another};Bo;2,00\n")), "alpha", AlsoAllowed: ["beta"]),
            // Beta sent this citizen nothing: it has no case of theirs.
            new("GET", $"/api/archive/{citizen}", none, "alpha", "beta"),
            new("GET", "/api/senders/me", none, "alpha", AlsoAllowed: ["beta"]),
            new("PUT", "/api/senders/me/webhook", () => Json(new WebhookBody(null)), "alpha", AlsoAllowed: ["beta"]),
            new("GET", $"/api/recipients/{citizen}", none, "alpha", AlsoAllowed: senders),
            // The NgDP face: every sender system reads its own receipts and looks up contacts.
            new("GET", "/apis/v1/receipts/?page=0&size=10", none, "alpha", AlsoAllowed: senders),
            new("GET", $"/apis/v1/contacts/?cprNumber={citizen}", none, "alpha", AlsoAllowed: senders),
            // A receipt only from the system the message was pushed to.
            new("POST", "/api/receipts", () => Json(new BusinessReceipt(message, true)), "receiver", "other receiver", HttpStatusCode.Forbidden),
            new("POST", "/api/receipts/batch", () => Json(new[] { new BusinessReceipt(message, true) }), "receiver", "other receiver", HttpStatusCode.OK),
            // NgDP's receipt of a REST_PUSH or REST_PULL system: another system is not told the message exists.
            new("POST", $"/apis/v1/memos/{message}/receipt", () => new StringContent("""{"receiptStatus":"COMPLETED"}""", Encoding.UTF8, "application/json"),
                "receiver", "other receiver"),
            // A REST_PULL system's waiting MeMos: its own list; another system is not told they exist.
            new("GET", "/apis/v1/memos/?page=0&size=10", none, "receiver", AlsoAllowed: ["other receiver"]),
            new("GET", $"/apis/v1/memos/{waiting}", none, "receiver", "other receiver"),
            new("DELETE", $"/apis/v1/memos/{deleted}", none, "receiver", "other receiver"),
        ];

        var wrong = new List<string>();
        var answered = 0;
        foreach (var row in rows)
            foreach (var (name, client) in callers)
            {
                HttpStatusCode[] expected = name == "anonymous" ? [HttpStatusCode.Unauthorized]
                    : name == row.Own || row.AlsoAllowed?.Contains(name) == true ? [HttpStatusCode.OK, HttpStatusCode.Accepted, HttpStatusCode.Created, HttpStatusCode.NoContent]
                    : name == row.Other ? [row.OtherGets]
                    : [HttpStatusCode.Forbidden];
                using var request = new HttpRequestMessage(new HttpMethod(row.Method), row.Path) { Content = row.Body() };
                using var response = await client.SendAsync(request);
                answered++;
                var body = await response.Content.ReadAsStringAsync();
                if (!expected.Contains(response.StatusCode))
                    wrong.Add($"{row.Method} {row.Path} as {name}: {(int)response.StatusCode}, expected {string.Join(" or ", expected.Select(e => (int)e))}: {body[..Math.Min(body.Length, 300)]}");
                // The batch of receipts answers each one: the other system's is refused.
                else if (row.Path == "/api/receipts/batch" && name == row.Other && !body.Contains(nameof(ReceiptOutcome.NotPushedToThisSystem)))
                    wrong.Add($"{row.Path} as {name}: the receipt was not refused: {body}");
            }

        Assert.Equal(rows.Length * callers.Count, answered);
        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
        // Nothing the other tenants tried changed the message: one positive receipt, from system "a".
        var after = await platform.Status(message);
        Assert.Equal(MessageStatus.Delivered, after.Status);
        Assert.Equal("a", Assert.Single(after.Attempts).ReceiverSystemId);
    }

    [Fact]
    public async Task An_operator_issues_a_key_that_works_once_shown_in_either_header_rotates_it_and_revokes_it_and_each_change_is_audited()
    {
        var id = $"sender-{Guid.NewGuid():N}";
        using var issued = await platform.Http.PostAsJsonAsync("/api/credentials", new CredentialRequest(Role.Sender, "Gamma Kommune", "29189846", Id: id), PlatformJson.Options);
        Assert.Equal(HttpStatusCode.Created, issued.StatusCode);
        var key = (await issued.Content.ReadFromJsonAsync<IssuedCredential>(PlatformJson.Options))!.ApiKey;
        // 256 random bits, base64url: 43 characters.
        Assert.Equal(43, key.Length);

        using var byHeader = platform.SenderHttp(key);
        Assert.Equal(id, (await byHeader.GetFromJsonAsync<SenderStatus>("/api/senders/me", PlatformJson.Options))!.SenderId);
        // NgDP's form: Basic base64(systemId:apiToken), the same identity.
        using var byBasic = Basic(id, key);
        Assert.Equal(HttpStatusCode.OK, (await byBasic.GetAsync("/api/senders/me")).StatusCode);
        using var wrongId = Basic(PlatformFixture.AlphaSender, key);
        Assert.Equal(HttpStatusCode.Unauthorized, (await wrongId.GetAsync("/api/senders/me")).StatusCode);

        // Listed, never with its key; the list holds the configured ones too.
        var list = await platform.Http.GetStringAsync("/api/credentials");
        Assert.Contains(id, list);
        Assert.Contains(PlatformFixture.AlphaSender, list);
        Assert.DoesNotContain(key, list);
        Assert.DoesNotContain(PlatformFixture.AlphaKey, list);

        using var rotated = await platform.Http.PostAsync($"/api/credentials/{id}/rotate", null);
        var newKey = (await rotated.Content.ReadFromJsonAsync<IssuedCredential>(PlatformJson.Options))!.ApiKey;
        Assert.NotEqual(key, newKey);
        Assert.Equal(HttpStatusCode.Unauthorized, (await byHeader.GetAsync("/api/senders/me")).StatusCode);
        using var afterRotation = platform.SenderHttp(newKey);
        Assert.Equal(HttpStatusCode.OK, (await afterRotation.GetAsync("/api/senders/me")).StatusCode);

        using var revoked = await platform.Http.DeleteAsync($"/api/credentials/{id}");
        Assert.Equal(HttpStatusCode.OK, revoked.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await afterRotation.GetAsync("/api/senders/me")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await platform.Http.PostAsync($"/api/credentials/{id}/rotate", null)).StatusCode);
        // Its id is not given again; configured credentials are changed in configuration.
        using var again = await platform.Http.PostAsJsonAsync("/api/credentials", new CredentialRequest(Role.Sender, "Gamma", "29189846", Id: id), PlatformJson.Options);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await platform.Http.DeleteAsync($"/api/credentials/{PlatformFixture.AlphaSender}")).StatusCode);

        var audit = await Audit(e => e.Target == $"/api/credentials/{id}");
        Assert.Equal(["credential revoked", "credential rotated", "credential issued"], audit.Select(e => e.Action));
        Assert.All(audit, e => Assert.Equal((PlatformFixture.OperatorName, nameof(Role.Operator)), (e.Actor, e.Role)));
        Assert.Null(audit[2].Before);
        Assert.Equal("Gamma Kommune", audit[2].After!.Value.GetProperty("name").GetString());
        Assert.False(audit[0].Before!.Value.TryGetProperty("revokedAt", out _));
        Assert.True(audit[0].After!.Value.TryGetProperty("revokedAt", out _));
        Assert.DoesNotContain(key, await platform.Http.GetStringAsync("/api/audit?take=1000"));
    }

    [Fact]
    public async Task A_credential_request_that_names_no_role_or_the_wrong_tenant_is_refused_naming_the_field()
    {
        using var noRole = await platform.Http.PostAsJsonAsync("/api/credentials", new { name = "x" }, PlatformJson.Options);
        Assert.Contains("role", await Problem(noRole));
        using var noCvr = await platform.Http.PostAsJsonAsync("/api/credentials", new CredentialRequest(Role.OrganisationAdmin, "x"), PlatformJson.Options);
        Assert.Contains("cvr", await Problem(noCvr));
        using var noSystem = await platform.Http.PostAsJsonAsync("/api/credentials", new CredentialRequest(Role.ReceiverSystem, "x", PlatformFixture.NewCvr()), PlatformJson.Options);
        Assert.Contains("receiverSystemId", await Problem(noSystem));
        using var colon = await platform.Http.PostAsJsonAsync("/api/credentials", new CredentialRequest(Role.Operator, "x", Id: "a:b"), PlatformJson.Options);
        Assert.Contains("id", await Problem(colon));
    }

    [Fact]
    public async Task An_organisation_administrators_change_is_audited_with_who_when_and_the_organisation_before_and_after()
    {
        var org = await platform.Organisation();
        using var admin = platform.SenderHttp(await platform.IssueKey(Role.OrganisationAdmin, "Firmaets IT", org.Cvr, id: $"admin-{org.Cvr}"));
        using var put = await admin.PutAsJsonAsync($"/api/organisations/{org.Cvr}/contact-points/cp-ny", new ContactPointBody("Ny indgang", "b"), PlatformJson.Options);
        put.EnsureSuccessStatusCode();
        using var refused = await admin.PutAsJsonAsync($"/api/organisations/{org.Cvr}/contact-points/cp-fejl", new ContactPointBody("Fejl", "findes-ikke"), PlatformJson.Options);

        var entries = await Audit(e => e.Target.StartsWith($"/api/organisations/{org.Cvr}/contact-points/", StringComparison.Ordinal));
        // The refused change changed nothing and is not in the log.
        var entry = Assert.Single(entries, e => e.Actor == $"admin-{org.Cvr}");
        Assert.Equal(("OrganisationAdmin", "PUT /api/organisations/{cvr}/contact-points/{contactPointId}", platform.Now),
            (entry.Role, entry.Action, entry.At));
        Assert.DoesNotContain("cp-ny", entry.Before!.Value.GetRawText());
        Assert.Contains("cp-ny", entry.After!.Value.GetRawText());
        Assert.DoesNotContain(entries, e => e.Target.EndsWith("cp-fejl", StringComparison.Ordinal) && e.After!.Value.GetRawText().Contains("cp-fejl"));
    }

    [Fact]
    public async Task An_organisation_administrator_issues_lists_and_revokes_keys_of_its_own_receiver_systems_only_and_each_is_audited()
    {
        var (org, other) = (await platform.Organisation(), await platform.Organisation());
        using var admin = platform.SenderHttp(await platform.IssueKey(Role.OrganisationAdmin, "Firmaets IT", org.Cvr, id: $"admin-keys-{org.Cvr}"));
        var systemCredentials = $"/api/organisations/{org.Cvr}/receiver-systems/b/credentials";

        var issued = await Issued(admin, systemCredentials);
        Assert.Equal((Role.ReceiverSystem, org.Cvr, "b"), (issued.Credential.Role, issued.Credential.Cvr, issued.Credential.ReceiverSystemId));
        // The key is the system's: it posts receipts as system "b" of the organisation.
        using var system = platform.SenderHttp(issued.ApiKey);
        using var receipt = await system.PostAsJsonAsync("/api/receipts", new BusinessReceipt(Guid.NewGuid(), true), PlatformJson.Options);
        Assert.NotEqual(HttpStatusCode.Unauthorized, receipt.StatusCode);
        Assert.NotEqual(HttpStatusCode.Forbidden, receipt.StatusCode);
        var listed = (await admin.GetFromJsonAsync<List<Credential>>(systemCredentials, PlatformJson.Options))!;
        // The system's keys only: the fixture issued it one before.
        Assert.Contains(issued.Credential.Id, listed.Select(c => c.Id));
        Assert.All(listed, c => Assert.Equal((Role.ReceiverSystem, org.Cvr, "b"), (c.Role, c.Cvr, c.ReceiverSystemId)));
        Assert.DoesNotContain(issued.ApiKey, await admin.GetStringAsync(systemCredentials));

        // Not a system the organisation has, nor another organisation's, nor another organisation's key by its id.
        using var unknown = await admin.PostAsJsonAsync($"/api/organisations/{org.Cvr}/receiver-systems/findes-ikke/credentials", new { }, PlatformJson.Options);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        using var others = await admin.PostAsJsonAsync($"/api/organisations/{other.Cvr}/receiver-systems/b/credentials", new { }, PlatformJson.Options);
        Assert.Equal(HttpStatusCode.Forbidden, others.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.DeleteAsync($"/api/organisations/{org.Cvr}/receiver-systems/a/credentials/{issued.Credential.Id}")).StatusCode);

        using var revoked = await admin.DeleteAsync($"{systemCredentials}/{issued.Credential.Id}");
        Assert.Equal(HttpStatusCode.OK, revoked.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await system.PostAsJsonAsync("/api/receipts", new BusinessReceipt(Guid.NewGuid(), true), PlatformJson.Options)).StatusCode);

        var audit = await Audit(e => e.Target.StartsWith($"{systemCredentials}/", StringComparison.Ordinal));
        Assert.Equal(["credential revoked", "credential issued"], audit.Select(e => e.Action));
        Assert.All(audit, e => Assert.Equal(($"admin-keys-{org.Cvr}", nameof(Role.OrganisationAdmin)), (e.Actor, e.Role)));
    }

    private static async Task<IssuedCredential> Issued(HttpClient admin, string path)
    {
        using var response = await admin.PostAsJsonAsync(path, new { name = "Systemets nøgle" }, PlatformJson.Options);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<IssuedCredential>(PlatformJson.Options))!;
    }

    private async Task<List<AuditEntry>> Audit(Func<AuditEntry, bool> match) =>
        [.. (await platform.Http.GetFromJsonAsync<List<AuditEntry>>("/api/audit?take=1000", PlatformJson.Options))!.Where(match)];

    private HttpClient Basic(string id, string key)
    {
        var http = new HttpClient { BaseAddress = platform.Http.BaseAddress };
        http.DefaultRequestHeaders.Authorization = new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{id}:{key}")));
        return http;
    }

    private static async Task<string> Problem(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }
}
