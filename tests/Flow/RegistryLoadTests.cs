using System.Net;
using System.Net.Http.Json;
using System.Text;
using DigitalPost.Contracts;
using DigitalPost.Silo;
using DigitalPost.Tests.Support;
using static DigitalPost.Tests.Support.Batches;

namespace DigitalPost.Tests.Flow;

/// <summary>Loading the recipient registry over HTTP: the file is read, checked and stored a chunk at a time (three
/// rows in the test platform), yet its issues name the file's rows and a repeat is found across chunks.</summary>
public abstract class RegistryLoadTests(PlatformFixture platform)
{
    [Collection(PlatformCollection.Name)]
    public sealed class InMemory(PlatformFixture platform) : RegistryLoadTests(platform);

    [Collection(PostgresPlatformCollection.Name)]
    public sealed class OnPostgreSQL(PostgresPlatformFixture platform) : RegistryLoadTests(platform);

    private const string CitizensHeader = "cpr;navn;status;nemsms;vaerger;adresse";

    private async Task<(HttpStatusCode Status, RegistryLoaded? Body, string Raw)> Put(string part, HttpContent content)
    {
        using var response = await platform.Http.PutAsync($"/api/registry/{part}", content);
        var raw = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, response.IsSuccessStatusCode ? System.Text.Json.JsonSerializer.Deserialize<RegistryLoaded>(raw, PlatformJson.Options) : null, raw);
    }

    private static StringContent Csv(string header, IEnumerable<string> rows, Encoding? encoding = null) =>
        new(header + "\n" + string.Join("\n", rows) + "\n", encoding ?? Encoding.UTF8, "text/csv");

    [Fact]
    public async Task A_file_of_many_chunks_is_loaded_with_its_issues_numbered_by_the_files_rows_and_a_repeat_in_a_later_chunk_is_found()
    {
        var cprs = Enumerable.Range(0, 6).Select(_ => NewAdultCpr()).ToList();
        var before = (await platform.Http.GetFromJsonAsync<RegistryCounts>("/api/registry", PlatformJson.Options))!;
        string[] rows =
        [
            $"{cprs[0]};Anna;tilmeldt;nej;;Vej 1",
            $"{cprs[1]};Bo;tilmeldt;ja;;Vej 2",
            $"{cprs[2]};;tilmeldt;nej;;",            // row 3: no name
            $"{cprs[3]};Dan;fritaget;nej;;Vej 4",     // chunk 2 from here
            $"{cprs[2]};Cia;tilmeldt;nej;;Vej 3",     // row 5: the first accepted row of this number, after a rejected one
            $"{cprs[4]};Eva;måske;nej;;",             // row 6: no status
            $"{cprs[1]};Bo igen;tilmeldt;nej;;",      // row 7: a repeat of row 2, two chunks on
            $"{cprs[5]};Finn;lukket;nej;;",
        ];

        var (status, loaded, raw) = await Put("citizens", Csv(CitizensHeader, rows));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(5, loaded!.Loaded);
        Assert.Equal([(3, "navn"), (6, "status"), (7, "cpr")], loaded.Issues.Select(i => (i.Row, i.Field)));
        Assert.Contains("is already in row 2", loaded.Issues[2].Reason);
        Assert.Equal(3, loaded.IssueCount);
        Assert.Equal(before.Citizens + 5, loaded.Counts.Citizens);
        Assert.DoesNotContain(cprs[1], raw);

        var bo = await platform.Alpha.GetFromJsonAsync<RecipientInfo>($"/api/recipients/{cprs[1]}", PlatformJson.Options);
        Assert.Equal(("Bo", true, RecipientVerdict.DigitalPost), (bo!.Name, bo.NemSms, bo.Verdict));
        // The address is the platform's (a sender's lookup does not show it): read from the registry itself.
        var cia = (await platform.Client.GetGrain<IRecipientRegistryGrain>(0).Lookup([new RecipientQuery(RecipientKind.Cpr, cprs[2])]))[0];
        Assert.Equal(["Vej 3"], cia.Address);
    }

    [Fact]
    public async Task Another_service_reads_and_writes_the_same_registry_through_the_registry_grain()
    {
        var (loaded, added) = (NewAdultCpr(), NewAdultCpr());
        await platform.LoadCitizens($"{loaded};Over HTTP;tilmeldt;nej;;");
        var registry = platform.Client.GetGrain<IRecipientRegistryGrain>(0);

        await registry.UpsertCitizens([new Citizen(added, "Gennem grain", RegistrationStatus.Exempt, false, [], ["Vej 9"])]);

        Assert.Equal("Over HTTP", (await registry.Lookup([new RecipientQuery(RecipientKind.Cpr, loaded)]))[0].Name);
        var viaHttp = await platform.Alpha.GetFromJsonAsync<RecipientInfo>($"/api/recipients/{added}", PlatformJson.Options);
        Assert.Equal(("Gennem grain", RecipientVerdict.NoActiveMailbox), (viaHttp!.Name, viaHttp.Verdict));
        Assert.Equal(await registry.Counts(), await platform.Http.GetFromJsonAsync<RegistryCounts>("/api/registry", PlatformJson.Options));
    }

    [Fact]
    public async Task A_file_with_a_fault_in_every_row_answers_the_first_thousand_issues_and_how_many_there_were()
    {
        // 30 February: no such date, so no CPR number.
        var rows = Enumerable.Range(0, 1_203).Select(i => $"3002{i % 100:D2}{i:D4};Navn {i};tilmeldt;nej;;");

        var (status, loaded, _) = await Put("citizens", Csv(CitizensHeader, rows));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal((0, 1_203, RegistryLoading.MaxIssues), (loaded!.Loaded, loaded.IssueCount, loaded.Issues.Count));
        Assert.Equal(Enumerable.Range(1, RegistryLoading.MaxIssues), loaded.Issues.Select(i => i.Row));
    }

    [Fact]
    public async Task A_file_without_a_charset_has_its_encoding_guessed_and_one_with_a_charset_it_is_not_in_is_refused()
    {
        var cvr = PlatformFixture.NewCvr();
        var windows1252 = new ByteArrayContent(Encoding.Latin1.GetBytes($"cvr;navn;postkasse;pnumre;adresse\n{cvr};Ærø Smed ApS;aktiv;1098765432;Søvej 1\n"));
        windows1252.Headers.ContentType = new("text/csv");

        var (status, loaded, _) = await Put("companies", windows1252);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(1, loaded!.Loaded);
        var company = await platform.Alpha.GetFromJsonAsync<RecipientInfo>($"/api/recipients/{cvr}?pNumber=1098765432", PlatformJson.Options);
        Assert.Equal(("Ærø Smed ApS", RecipientVerdict.DigitalPost), (company!.Name, company.Verdict));

        var mislabelled = new ByteArrayContent(Encoding.Latin1.GetBytes($"cvr;navn;postkasse\n{PlatformFixture.NewCvr()};Åby Tømrer;aktiv\n"));
        mislabelled.Headers.ContentType = new("text/csv") { CharSet = "utf-8" };
        var refused = await Put("companies", mislabelled);
        Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
        Assert.Contains("is not utf-8 text", refused.Raw);
    }
}
