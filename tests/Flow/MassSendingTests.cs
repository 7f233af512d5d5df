using System.Net;
using System.Net.Http.Json;
using System.Text;
using DigitalPost.Contracts;
using DigitalPost.Infrastructure;
using DigitalPost.Silo;
using Microsoft.Extensions.DependencyInjection;
using DigitalPost.LoadGen.Receivers;
using DigitalPost.Tests.Support;
using static DigitalPost.Tests.Support.Batches;

namespace DigitalPost.Tests.Flow;

/// <summary>Merge batches end to end: upload over HTTP with a sender's API key, per-row validation, the recipient check
/// and channel choice, copies, status, archive, on the TestingHost cluster with the fake clock.</summary>
public abstract class MassSendingTests(PlatformFixture platform)
{
    [Collection(PlatformCollection.Name)]
    public sealed class InMemory(PlatformFixture platform) : MassSendingTests(platform);

    [Collection(PostgresPlatformCollection.Name)]
    public sealed class OnPostgreSQL(PostgresPlatformFixture platform) : MassSendingTests(platform);

    private static BatchOptions Options(string label = "Opkrævning", ChannelChoice channel = ChannelChoice.Automatic) =>
        new(label, channel, BatchId: $"test-{Guid.NewGuid():N}");

    [Fact]
    public async Task A_batch_is_answered_202_and_its_good_rows_are_delivered_while_each_bad_row_is_reported_with_row_field_and_reason()
    {
        var (a, b) = (NewAdultCpr(), NewAdultCpr());
        await platform.LoadCitizens($"{a};Anna Hansen;tilmeldt;nej;;", $"{b};Bo Jensen;tilmeldt;nej;;");
        var csv = string.Join("\n",
            "cpr;navn;beloeb;forfaldsdato",
            $"{a};Anna Hansen;100,00;01-03-2026",
            "3002901234;Forkert Dato;100,00;01-03-2026",
            $"{b};;200,00;01-03-2026",
            $"{b};Bo Jensen;200,00;31-02-2026",
            $"{b};Bo Jensen;300,00;15-03-2026");

        var upload = await platform.Alpha.SubmitBatch(Options(), csv);

        Assert.Equal(HttpStatusCode.Accepted, upload.Status);
        var errors = upload.Body!.Issues.Where(i => i.Severity == IssueSeverity.Error).ToList();
        Assert.Contains(errors, i => i is { Row: 2, Field: "cpr" });
        Assert.Contains(errors, i => i is { Row: 3, Field: "navn" });
        Assert.Contains(errors, i => i is { Row: 4, Field: "forfaldsdato" } && i.Reason.Contains("31-02-2026"));
        Assert.DoesNotContain(errors, i => i.Row is 1 or 5);
        Assert.DoesNotContain("3002901234", upload.Raw);

        var done = await platform.Alpha.WaitForCompletion(upload.Body.BatchId);
        Assert.Equal(2, done.Counts.Accepted);
        Assert.Equal(3, done.Counts.RejectedRows);
        Assert.Equal(2, done.Counts.Delivered);
        Assert.Equal(1.0, done.Progress);
    }

    [Fact]
    public async Task A_merge_field_only_tested_in_a_condition_may_be_empty_while_one_the_letter_prints_may_not()
    {
        var cpr = NewAdultCpr();
        await platform.LoadCitizens($"{cpr};Lis;tilmeldt;nej;;");
        var template = "Kære {{ navn }}\n{% if rate %}Rate: {{ rate }}{% endif %}";

        var upload = await platform.Alpha.SubmitBatch(Options(), $"cpr;navn;rate\n{cpr};Lis;\n{cpr};;100\n", template);

        var error = Assert.Single(upload.Body!.Issues);
        Assert.Equal((2, "navn"), (error.Row, error.Field));
        Assert.Equal(1, (await platform.Alpha.WaitForCompletion(upload.Body.BatchId)).Counts.Delivered);
    }

    [Fact]
    public async Task The_contact_lookup_tells_a_sender_whether_a_recipient_can_receive_Digital_Post_and_a_minors_age_and_how_many_guardians_but_not_who()
    {
        // Thirteen on the platform's clock, which the collection's tests move on by weeks.
        var (parent, child) = (NewAdultCpr(), NewCpr(DateOnly.FromDateTime(platform.Now.UtcDateTime).AddYears(-13).AddDays(-100)));
        await platform.LoadCitizens($"{parent};Forælder;tilmeldt;ja;;", $"{child};Barn;afventer;nej;{parent};Vej 1|8000 Aarhus C");

        var minor = await platform.Alpha.GetFromJsonAsync<RecipientContact>($"/api/recipients/{child}", PlatformJson.Options);
        var minorJson = await platform.Alpha.GetStringAsync($"/api/recipients/{child}");
        var adult = await platform.Alpha.GetFromJsonAsync<RecipientContact>($"/api/recipients/{parent}", PlatformJson.Options);
        var unknown = await platform.Alpha.GetFromJsonAsync<RecipientContact>($"/api/recipients/{NewAdultCpr()}", PlatformJson.Options);
        using var anonymous = await platform.Anonymous.GetAsync($"/api/recipients/{child}");

        Assert.Equal((RecipientVerdict.NoActiveMailbox, RegistrationStatus.NotYetConfirmed, 13, true), (minor!.Verdict, minor.Status, minor.Age, minor.IsMinor));
        Assert.Equal(1, minor.GuardianCount);
        Assert.DoesNotContain(parent, minorJson);
        Assert.DoesNotContain("Vej 1", minorJson);
        Assert.Equal((RecipientVerdict.DigitalPost, true, false), (adult!.Verdict, adult.NemSms, adult.IsMinor));
        Assert.Equal(RecipientVerdict.Unknown, unknown!.Verdict);
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
    }

    [Fact]
    public async Task Resubmitting_a_batch_makes_no_second_letter_and_the_same_id_with_other_content_is_refused()
    {
        var cpr = NewAdultCpr();
        await platform.LoadCitizens($"{cpr};Carl Nielsen;tilmeldt;nej;;");
        var options = Options();
        var csv = $"cpr;navn;beloeb\n{cpr};Carl Nielsen;100,00\n";

        var first = await platform.Alpha.SubmitBatch(options, csv);
        await platform.Alpha.WaitForCompletion(first.Body!.BatchId);
        var again = await platform.Alpha.SubmitBatch(options, csv);
        var other = await platform.Alpha.SubmitBatch(options, csv.Replace("100,00", "999,00"));

        Assert.Equal(HttpStatusCode.Accepted, first.Status);
        Assert.Equal(HttpStatusCode.OK, again.Status);
        Assert.Equal(first.Body.BatchId, again.Body!.BatchId);
        Assert.Equal(HttpStatusCode.Conflict, other.Status);
        var letters = await platform.Alpha.Letters(first.Body.BatchId);
        var letter = Assert.Single(letters);
        var message = await platform.Status(letter.MessageUuid!.Value);
        Assert.Single(message.History, e => e.Kind == MessageEventKind.Accepted);
    }

    [Theory]
    [InlineData(ChannelChoice.Automatic, LetterState.Delivered, LetterState.SentToPrint, LetterState.SentToPrint, LetterState.Returned, LetterState.Returned)]
    [InlineData(ChannelChoice.DigitalPost, LetterState.Delivered, LetterState.Returned, LetterState.Returned, LetterState.Returned, LetterState.Returned)]
    [InlineData(ChannelChoice.PhysicalPost, LetterState.SentToPrint, LetterState.SentToPrint, LetterState.SentToPrint, LetterState.Returned, LetterState.Returned)]
    [InlineData(ChannelChoice.NemSms, LetterState.SentAsNemSms, LetterState.Returned, LetterState.Returned, LetterState.Returned, LetterState.Returned)]
    public async Task Each_registration_status_and_channel_choice_decides_how_the_letter_goes(
        ChannelChoice channel, LetterState registered, LetterState exempt, LetterState notYetConfirmed, LetterState closed, LetterState unknown)
    {
        var people = Enumerable.Range(0, 5).Select(_ => NewAdultCpr()).ToArray();
        await platform.LoadCitizens(
            $"{people[0]};Registreret;tilmeldt;ja;;Vej 1|1000 København K",
            $"{people[1]};Fritaget;fritaget;nej;;Vej 2|1000 København K",
            $"{people[2]};Afventer;afventer;nej;;Vej 3|1000 København K",
            $"{people[3]};Lukket;lukket;nej;;");
        var csv = "cpr;navn;beloeb\n" + string.Join("\n", people.Select(p => $"{p};Person;10,00"));

        var upload = await platform.Alpha.SubmitBatch(Options(channel: channel), csv);
        await platform.Alpha.WaitFor(upload.Body!.BatchId, s => s.Counts.Pending == 0 && s.Counts.Queued == 0, "every letter sent");

        var letters = (await platform.Alpha.Letters(upload.Body.BatchId)).ToDictionary(l => l.Row);
        Assert.Equal([registered, exempt, notYetConfirmed, closed, unknown], Enumerable.Range(1, 5).Select(r => letters[r].State));
        Assert.All(letters.Values.Where(l => l.State == LetterState.Returned), l => Assert.False(string.IsNullOrEmpty(l.Remedy)));
        Assert.Equal("UNKNOWN_RECIPIENT", letters[5].ErrorCode);
    }

    [Fact]
    public async Task A_minor_gets_copies_to_each_guardian_and_a_row_gets_its_extra_copies_while_an_adult_gets_no_guardian_copy()
    {
        var (mother, father, adult, extra) = (NewAdultCpr(), NewAdultCpr(), NewAdultCpr(), NewAdultCpr());
        var child = NewCpr(new DateOnly(2016, 6, 1));
        await platform.LoadCitizens(
            $"{mother};Mor;tilmeldt;nej;;", $"{father};Far;tilmeldt;nej;;", $"{extra};Sagsbehandler;tilmeldt;nej;;",
            $"{child};Barn;tilmeldt;nej;{mother}|{father};", $"{adult};Voksen;tilmeldt;nej;{mother};");
        var csv = $"cpr;navn;beloeb;kopi\n{child};Barn;0,00;\n{adult};Voksen;0,00;{extra}\n";

        var upload = await platform.Alpha.SubmitBatch(Options(), csv);
        var done = await platform.Alpha.WaitForCompletion(upload.Body!.BatchId);

        var letters = await platform.Alpha.Letters(upload.Body.BatchId);
        Assert.Equal([(1, 0), (1, 1), (1, 2), (2, 0), (2, 1)], letters.Select(l => (l.Row, l.Copy)));
        Assert.All(letters, l => Assert.Equal(LetterState.Delivered, l.State));
        Assert.Equal(3, done.Counts.Copies);
        var recipients = await Task.WhenAll(letters.Select(async l => (await platform.Status(l.MessageUuid!.Value)).RecipientId));
        Assert.Equal([child, mother, father, adult, extra], recipients);
    }

    [Fact]
    public async Task Deferred_sending_waits_for_its_time_and_a_valoer_date_holds_delivery_on_the_fake_clock()
    {
        var org = await platform.Organisation();
        await platform.LoadCompanies($"{org.Cvr};Firma;aktiv;;");
        var sendAt = platform.Now + TimeSpan.FromHours(3);
        var valoer = platform.Now + TimeSpan.FromDays(2);
        var deferred = await platform.Alpha.SubmitBatch(Options() with { SendAt = sendAt }, $"cvr;navn;beloeb\n{org.Cvr};Firma;1,00\n");
        var held = await platform.Alpha.SubmitBatch(Options() with { ValoerDate = valoer }, $"cvr;navn;beloeb\n{org.Cvr};Firma;2,00\n");

        await platform.AdvanceBy(TimeSpan.FromHours(2));
        var waiting = await platform.Alpha.Batch(deferred.Body!.BatchId);
        Assert.Equal(BatchPhase.Scheduled, waiting.Phase);
        Assert.Equal(1, waiting.Counts.Pending);
        var holding = await platform.Alpha.WaitFor(held.Body!.BatchId, s => s.Counts.Queued == 1, "its letter queued");
        Assert.Equal(0, holding.Counts.Delivered);

        await platform.AdvanceBy(TimeSpan.FromHours(1));
        await platform.Alpha.WaitForCompletion(deferred.Body.BatchId);
        Assert.Equal(1, (await platform.Alpha.Batch(held.Body.BatchId)).Counts.Queued);

        await platform.AdvanceTo(valoer);
        var delivered = await platform.Alpha.WaitForCompletion(held.Body.BatchId);
        Assert.Equal(1, delivered.Counts.Delivered);
        var message = await platform.Status((await platform.Alpha.Letters(held.Body.BatchId))[0].MessageUuid!.Value);
        Assert.True(message.Attempts[0].PushedAt >= valoer);
    }

    [Fact]
    public async Task Batch_counts_equal_the_sum_of_the_messages_states_after_a_run_with_mixed_receiver_profiles()
    {
        var healthy = await platform.Organisation();
        var deadPrimary = await platform.Organisation(a: ReceiverProfile.Dead);
        var virus = await platform.Organisation(a: ReceiverProfile.Virus);
        await platform.LoadCompanies($"{healthy.Cvr};Rask;aktiv;;", $"{deadPrimary.Cvr};Nede;aktiv;;", $"{virus.Cvr};Virus;aktiv;;");
        var cpr = NewAdultCpr();
        await platform.LoadCitizens($"{cpr};Dorte;fritaget;nej;;Vej 9|2000 Frederiksberg");
        var csv = "cvr;cpr;navn;beloeb\n" + string.Join("\n",
            $"{healthy.Cvr};;Rask;1,00", $"{healthy.Cvr};;Rask;2,00", $"{deadPrimary.Cvr};;Nede;3,00", $"{virus.Cvr};;Virus;4,00",
            $";{cpr};Dorte;5,00", $"{Unknown()};;Ukendt;6,00");

        var upload = await platform.Alpha.SubmitBatch(Options(), csv);
        await platform.Alpha.WaitFor(upload.Body!.BatchId, s => s.Counts.Pending == 0, "every letter made");
        await platform.AdvanceBy(TimeSpan.FromDays(8));
        var done = await platform.Alpha.WaitForCompletion(upload.Body.BatchId);

        var letters = await platform.Alpha.Letters(upload.Body.BatchId);
        var states = new List<LetterState>();
        foreach (var letter in letters)
            states.Add(letter.MessageUuid is { } uuid ? (await platform.Status(uuid)).Status.ToLetterState() : letter.State);
        var c = done.Counts;
        Assert.Equal(6, c.Accepted);
        Assert.Equal(states.Count(s => s == LetterState.Delivered), c.Delivered);
        Assert.Equal(states.Count(s => s == LetterState.DeliveredToVirk), c.ToVirk);
        Assert.Equal(states.Count(s => s is LetterState.SentToPrint or LetterState.Printed or LetterState.HandedToPostalService), c.ToPrint);
        Assert.Equal(states.Count(s => s == LetterState.Failed), c.Failed);
        Assert.Equal(states.Count(s => s == LetterState.Returned), c.Returned);
        Assert.Equal((2, 1, 1, 1, 1), (c.Delivered, c.ToVirk, c.ToPrint, c.Failed, c.Returned));
        Assert.Equal(c.Accepted, c.Delivered + c.ToVirk + c.ToPrint + c.ToNemSms + c.Returned + c.Failed + c.Failing + c.Queued + c.Pending);
        Assert.Equal(1, c.Rerouted);
    }

    [Fact]
    public async Task A_batch_spread_over_partitions_counts_each_letter_once_and_pages_its_letters_from_the_store()
    {
        // 120 rows in chunks of 7: three partitions, each with its share of the chunks. Every tenth citizen is exempt,
        // so their letters are returned.
        // Born on days no other test's citizens are: a hundred and twenty new numbers must not meet theirs.
        var cprs = Enumerable.Range(0, 120).Select(i => NewCpr(new DateOnly(1950, 1, 1).AddDays(i))).ToList();
        await platform.LoadCitizens([.. cprs.Select((c, i) => $"{c};Borger {i};{(i % 10 == 9 ? "fritaget" : "tilmeldt")};nej;;")]);
        var upload = await platform.Alpha.SubmitBatch(Options(channel: ChannelChoice.DigitalPost),
            "cpr;navn;beloeb\n" + string.Join("\n", cprs.Select((c, i) => $"{c};Borger {i};{i},00")));
        var batchId = upload.Body!.BatchId;
        var done = await platform.Alpha.WaitForCompletion(batchId);

        Assert.Equal((120, 108, 12, 0, 1.0), (done.Counts.Accepted, done.Counts.Delivered, done.Counts.Returned, done.Counts.Pending, done.Progress));
        var letters = new List<LetterView>();
        for (var skip = 0; skip < 150; skip += 50)
            letters.AddRange((await platform.Alpha.GetFromJsonAsync<List<LetterView>>($"/api/batches/{batchId}/letters?skip={skip}&take=50", PlatformJson.Options))!);
        Assert.Equal(Enumerable.Range(1, 120), letters.Select(l => l.Row));
        Assert.Equal(Enumerable.Range(1, 12).Select(i => 10 * i), (await platform.Alpha.Letters(batchId, errorsOnly: true)).Select(l => l.Row));
        // Each delivered letter's row names the partition that owns it: its chunk's number modulo three.
        var owners = await Task.WhenAll(letters.Where(l => l.MessageUuid is not null)
            .Select(async l => (l.Row, (await platform.Client.GetGrain<ILettersGrain>(0).Find(l.MessageUuid!.Value))!.Value.Partition)));
        Assert.All(owners, o => Assert.Equal((o.Row - 1) / 7 % 3, o.Partition));
    }

    [Fact]
    public async Task Letters_to_a_receiver_system_that_takes_many_per_push_go_in_bulk_and_each_stays_addressable_as_its_message()
    {
        var org = new TestOrganisation(PlatformFixture.NewCvr());
        await platform.Put($"/api/organisations/{org.Cvr}", new OrganisationRegistration($"Bulk {org.Cvr}"));
        await platform.Put($"/api/organisations/{org.Cvr}/receiver-systems/a",
            new ReceiverSystemBody(platform.Receivers.EndpointOf(org.Simulated("a")), org.TechnicalContact("a"), IsPrimary: true, MaxMessagesPerPush: 10));
        await platform.IssueReceiverKey(org, "a");
        await platform.LoadCompanies($"{org.Cvr};Bulk;aktiv;;");
        var csv = "cvr;navn;beloeb\n" + string.Join("\n", Enumerable.Range(1, 25).Select(i => $"{org.Cvr};Bulk;{i},00"));

        var upload = await platform.Alpha.SubmitBatch(Options(), csv);
        var done = await platform.Alpha.WaitForCompletion(upload.Body!.BatchId);

        Assert.Equal(25, done.Counts.Delivered);
        var letters = await platform.Alpha.Letters(upload.Body.BatchId);
        var pushes = platform.Receivers.Pushes.Where(p => p.System == org.Simulated("a")).ToList();
        // 25 letters to a system taking 10 a push: pushes of 10, 10 and 5 (20 messages came ten to a push, 5 five), each
        // message in exactly one.
        Assert.Equal([(5, 5), (10, 20)], pushes.GroupBy(p => p.InPush).Select(g => (g.Key, g.Count())).OrderBy(x => x.Item1));
        Assert.Equal(letters.Select(l => l.MessageUuid!.Value).Order(), pushes.Select(p => p.MessageUuid).Order());
        // Delivered without a message grain of its own, yet its message answers for it: one push, one positive receipt.
        var message = await platform.Status(letters[0].MessageUuid!.Value);
        Assert.Equal(MessageStatus.Delivered, message.Status);
        Assert.Equal(AttemptOutcome.Positive, Assert.Single(message.Attempts).Outcome);
        // The letter's PDF is not carried but rendered where the message says, when it is opened.
        using var pdf = await platform.Alpha.GetAsync($"/api/letters/{letters[0].MessageUuid}/document.pdf");
        pdf.EnsureSuccessStatusCode();
        Assert.StartsWith("%PDF", System.Text.Encoding.ASCII.GetString(await pdf.Content.ReadAsByteArrayAsync())[..4]);
    }

    [Fact]
    public async Task Letters_to_registered_citizens_land_in_their_mailboxes_in_bulk_and_each_stays_addressable_and_archived()
    {
        var (a, b) = (NewAdultCpr(), NewAdultCpr());
        await platform.LoadCitizens($"{a};Anna;tilmeldt;nej;;", $"{b};Bo;tilmeldt;ja;;");
        var upload = await platform.Alpha.SubmitBatch(Options("Årsopgørelse"), $"cpr;navn;beloeb\n{a};Anna;1,00\n{b};Bo;2,00\n{a};Anna;3,00\n");
        var done = await platform.Alpha.WaitFor(upload.Body!.BatchId, s => s.Phase == BatchPhase.Completed && s.ArchiveQueue == 0, "archived");

        Assert.Equal(3, done.Counts.Delivered);
        var letters = await platform.Alpha.Letters(upload.Body.BatchId);
        var lanes = platform.Cluster.Silos[0].ServiceProvider.GetRequiredService<ICitizenLaneStore>();
        Assert.Equal(letters.Where(l => l.Row != 2).Select(l => l.MessageUuid!.Value).Order(),
            (await lanes.Of(LetterLane.CitizenMailbox, a)).Select(l => l.MessageUuid).Order());
        var inBox = Assert.Single(await lanes.Of(LetterLane.CitizenMailbox, b));
        Assert.Equal((letters[1].MessageUuid, "Årsopgørelse"), (inBox.MessageUuid, inBox.Title));
        // Delivered by its lane, not by a message grain, yet its message answers for it: in the mailbox, no attempt.
        var message = await platform.Status(letters[1].MessageUuid!.Value);
        Assert.Equal((MessageStatus.Delivered, DeliveryTargetKind.CitizenMailbox), (message.Status, message.CurrentTarget!.Kind));
        Assert.Empty(message.Attempts);
        Assert.Contains(message.History, e => e.Kind == MessageEventKind.DeliveredToMailbox);
        using var pdf = await platform.Alpha.GetAsync($"/api/letters/{letters[1].MessageUuid}/document.pdf");
        pdf.EnsureSuccessStatusCode();
        var archived = await platform.Alpha.GetFromJsonAsync<ArchiveCase>($"/api/archive/{a}", PlatformJson.Options);
        Assert.Equal(2, archived!.Letters.Count(l => l.BatchId == upload.Body.BatchId && l.State == LetterState.Delivered));
    }

    [Fact]
    public async Task A_nemsms_batch_puts_its_letters_in_the_nemsms_queue_in_bulk_once_even_when_sent_again()
    {
        var cpr = NewAdultCpr();
        await platform.LoadCitizens($"{cpr};Sms;tilmeldt;ja;;");
        var options = Options(channel: ChannelChoice.NemSms);
        var upload = await platform.Alpha.SubmitBatch(options, $"cpr;navn;beloeb\n{cpr};Sms;1,00\n");
        var again = await platform.Alpha.SubmitBatch(options, $"cpr;navn;beloeb\n{cpr};Sms;1,00\n");

        var done = await platform.Alpha.WaitForCompletion(upload.Body!.BatchId);
        Assert.Equal(HttpStatusCode.OK, again.Status);
        Assert.Equal(1, done.Counts.ToNemSms);
        var letter = Assert.Single(await platform.Alpha.Letters(upload.Body.BatchId));
        var lanes = platform.Cluster.Silos[0].ServiceProvider.GetRequiredService<ICitizenLaneStore>();
        Assert.Equal(letter.MessageUuid, Assert.Single(await lanes.Of(LetterLane.NemSms, cpr)).MessageUuid);
        Assert.Empty(await lanes.Of(LetterLane.CitizenMailbox, cpr));
        Assert.Equal(MessageStatus.SentAsNemSms, (await platform.Status(letter.MessageUuid!.Value)).Status);
    }

    [Fact]
    public async Task Errors_only_lists_just_the_failed_letters_and_retry_failed_sends_them_again_once_the_cause_is_fixed()
    {
        var (ok, exempt) = (NewAdultCpr(), NewAdultCpr());
        await platform.LoadCitizens($"{ok};Eva;tilmeldt;nej;;", $"{exempt};Finn;fritaget;nej;;");
        var upload = await platform.Alpha.SubmitBatch(Options(channel: ChannelChoice.DigitalPost), $"cpr;navn;beloeb\n{ok};Eva;1,00\n{exempt};Finn;2,00\n");
        var first = await platform.Alpha.WaitForCompletion(upload.Body!.BatchId);
        Assert.Equal((1, 1), (first.Counts.Delivered, first.Counts.Returned));

        var errors = await platform.Alpha.Letters(upload.Body.BatchId, errorsOnly: true);
        var returned = Assert.Single(errors);
        Assert.Equal((2, LetterState.Returned, "NOT_REGISTERED"), (returned.Row, returned.State, returned.ErrorCode));
        Assert.Contains("physical post", returned.Remedy);

        await platform.LoadCitizens($"{exempt};Finn;tilmeldt;nej;;");
        using var retry = await platform.Alpha.PostAsync($"/api/batches/{upload.Body.BatchId}/retry-failed", null);
        Assert.Contains("\"retried\":1", await retry.Content.ReadAsStringAsync());
        var second = await platform.Alpha.WaitFor(upload.Body.BatchId, s => s.Phase == BatchPhase.Completed && s.Counts.Delivered == 2, "both delivered");
        Assert.Equal(0, second.Counts.Returned);
        Assert.Empty(await platform.Alpha.Letters(upload.Body.BatchId, errorsOnly: true));
    }

    [Fact]
    public async Task Physical_post_goes_through_the_print_queue_to_the_postal_service()
    {
        var cpr = NewAdultCpr();
        await platform.LoadCitizens($"{cpr};Gitte;fritaget;nej;;Strandvejen 1|2900 Hellerup");
        var upload = await platform.Alpha.SubmitBatch(Options(), $"cpr;navn;beloeb\n{cpr};Gitte;1,00\n");
        await platform.Alpha.WaitFor(upload.Body!.BatchId, s => s.Counts.ToPrint == 1, "its letter sent to print");
        var uuid = (await platform.Alpha.Letters(upload.Body.BatchId))[0].MessageUuid!.Value;
        Assert.Equal(MessageStatus.SentToPrint, (await platform.Status(uuid)).Status);

        await platform.AdvanceBy(TimeSpan.FromDays(1));
        Assert.Equal(MessageStatus.Printed, (await platform.Status(uuid)).Status);
        await platform.AdvanceBy(TimeSpan.FromDays(1));
        Assert.Equal(MessageStatus.HandedToPostalService, (await platform.Status(uuid)).Status);
        var done = await platform.Alpha.WaitForCompletion(upload.Body.BatchId);
        Assert.Equal(LetterState.HandedToPostalService, (await platform.Alpha.Letters(upload.Body.BatchId))[0].State);
        Assert.Equal(1, done.Counts.ToPrint);
    }

    [Fact]
    public async Task Delivered_letters_and_their_receipts_are_archived_in_the_recipients_case_which_only_their_sender_sees()
    {
        var org = await platform.Organisation();
        var cpr = NewAdultCpr();
        await platform.LoadCompanies($"{org.Cvr};Firma;aktiv;;");
        await platform.LoadCitizens($"{cpr};Hanne;tilmeldt;nej;;");
        var upload = await platform.Alpha.SubmitBatch(Options("Årsopgørelse"), $"cvr;cpr;navn;beloeb\n{org.Cvr};;Firma;1,00\n;{cpr};Hanne;2,00\n");
        await platform.Alpha.WaitFor(upload.Body!.BatchId, s => s.Phase == BatchPhase.Completed && s.ArchiveQueue == 0, "archived");

        var company = await platform.Alpha.GetFromJsonAsync<ArchiveCase>($"/api/archive/{org.Cvr}", PlatformJson.Options);
        var person = await platform.Alpha.GetFromJsonAsync<ArchiveCase>($"/api/archive/{cpr}", PlatformJson.Options);
        var letter = Assert.Single(company!.Letters);
        Assert.Equal(("Årsopgørelse", LetterState.Delivered), (letter.Label, letter.State));
        Assert.Equal(AttemptOutcome.Positive, Assert.Single(letter.Receipts).Outcome);
        Assert.Single(person!.Letters);
        using var other = await platform.Beta.GetAsync($"/api/archive/{org.Cvr}");
        Assert.Equal(HttpStatusCode.NotFound, other.StatusCode);
    }

    [Fact]
    public async Task A_sender_cannot_read_or_retry_another_senders_batch_and_no_key_gets_401()
    {
        var cpr = NewAdultCpr();
        await platform.LoadCitizens($"{cpr};Ib;tilmeldt;nej;;");
        var upload = await platform.Alpha.SubmitBatch(Options(), $"cpr;navn;beloeb\n{cpr};Ib;1,00\n");
        var id = upload.Body!.BatchId;

        using var read = await platform.Beta.GetAsync($"/api/batches/{id}");
        using var letters = await platform.Beta.GetAsync($"/api/batches/{id}/letters");
        using var retry = await platform.Beta.PostAsync($"/api/batches/{id}/retry-failed", null);
        using var anonymous = await platform.Anonymous.GetAsync($"/api/batches/{id}");
        using var wrongKey = await platform.SenderHttp("not-a-key").GetAsync($"/api/batches/{id}");
        using var own = await platform.Alpha.GetAsync($"/api/batches/{id}");

        Assert.Equal([HttpStatusCode.NotFound, HttpStatusCode.NotFound, HttpStatusCode.NotFound, HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.OK],
            new[] { read, letters, retry, anonymous, wrongKey, own }.Select(r => r.StatusCode));
    }

    [Fact]
    public async Task A_row_can_be_previewed_as_a_PDF_with_its_attachments_before_and_after_sending()
    {
        var cpr = NewAdultCpr();
        await platform.LoadCitizens($"{cpr};Jens;tilmeldt;nej;;");
        var files = new[] { ("attachment", "vilkaar.pdf", "%PDF-1.4 common"u8.ToArray()), ("rowAttachment", "bilag-1.pdf", "%PDF-1.4 row one"u8.ToArray()) };
        var csv = $"cpr;navn;beloeb;bilag\n{cpr};Jens;1,00;bilag-1.pdf\n";

        using var before = await platform.Alpha.PostAsync("/api/batches/preview?row=1", Form(Options(), Encoding.UTF8.GetBytes(csv), Template, files));
        Assert.Equal("application/pdf", before.Content.Headers.ContentType?.MediaType);
        Assert.StartsWith("%PDF", Encoding.ASCII.GetString(await before.Content.ReadAsByteArrayAsync())[..4]);

        var upload = await platform.Alpha.SubmitBatch(Options() with { SendAt = platform.Now + TimeSpan.FromDays(1) }, csv, files: files);
        var row = await platform.Alpha.GetStringAsync($"/api/batches/{upload.Body!.BatchId}/rows/1");
        Assert.Contains("vilkaar.pdf", row);
        Assert.Contains("bilag-1.pdf", row);
        var pdf = await platform.Alpha.GetByteArrayAsync($"/api/batches/{upload.Body.BatchId}/rows/1/letter.pdf");
        Assert.StartsWith("%PDF", Encoding.ASCII.GetString(pdf[..4]));
        using var missing = await platform.Alpha.GetAsync($"/api/batches/{upload.Body.BatchId}/rows/2/letter.pdf");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Theory]
    [InlineData(';', "utf-8-bom")]
    [InlineData(',', "utf-8")]
    [InlineData(';', "windows-1252")]
    public async Task A_CSV_in_each_dialect_and_encoding_Danish_senders_export_is_read_with_its_letters_intact(char separator, string encoding)
    {
        var cpr = NewAdultCpr();
        await platform.LoadCitizens($"{cpr};Søren Ærø;tilmeldt;nej;;");
        var text = $"cpr{separator}navn{separator}beloeb\n{cpr}{separator}Søren Ærø Åbenrå{separator}\"1.234,50\"\n";
        var bytes = encoding switch
        {
            "utf-8-bom" => [.. Encoding.UTF8.GetPreamble(), .. Encoding.UTF8.GetBytes(text)],
            "windows-1252" => CodePagesEncoding(text),
            _ => Encoding.UTF8.GetBytes(text),
        };
        using var response = await platform.Alpha.PostAsync("/api/batches", Form(Options() with { SendAt = platform.Now + TimeSpan.FromDays(1) }, bytes));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var body = (await response.Content.ReadFromJsonAsync<BatchAccepted>(PlatformJson.Options))!;

        var row = await platform.Alpha.GetStringAsync($"/api/batches/{body.BatchId}/rows/1");
        Assert.Contains("Søren Ærø Åbenrå", row);
        Assert.Contains("1.234,50", row);
    }

    [Fact]
    public async Task Cancelling_a_batch_scheduled_for_later_stops_every_letter_and_a_second_cancel_is_409()
    {
        var cpr = NewAdultCpr();
        await platform.LoadCitizens($"{cpr};Kim;tilmeldt;nej;;");
        var upload = await platform.Alpha.SubmitBatch(Options() with { SendAt = platform.Now + TimeSpan.FromDays(1) },
            $"cpr;navn;beloeb\n{cpr};Kim;1,00\n{cpr};Kim;2,00\n{cpr};Kim;3,00\n");
        var id = upload.Body!.BatchId;

        using var other = await platform.Beta.PostAsync($"/api/batches/{id}/cancel", null);
        using var cancel = await platform.Alpha.PostAsync($"/api/batches/{id}/cancel", null);
        Assert.Equal(HttpStatusCode.NotFound, other.StatusCode);
        Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
        Assert.Contains("\"cancelled\":3", await cancel.Content.ReadAsStringAsync());

        var done = await platform.Alpha.WaitForCompletion(id);
        Assert.Equal((3, 3, 0, 0, 1.0), (done.Counts.Accepted, done.Counts.Cancelled, done.Counts.Pending, done.Counts.Delivered, done.Progress));
        // Its send time passes and nothing goes out.
        await platform.AdvanceBy(TimeSpan.FromDays(1));
        var lanes = platform.Cluster.Silos[0].ServiceProvider.GetRequiredService<ICitizenLaneStore>();
        Assert.Empty(await lanes.Of(LetterLane.CitizenMailbox, cpr));
        Assert.Equal((3, 0), ((await platform.Alpha.Batch(id)).Counts.Cancelled, (await platform.Alpha.Batch(id)).Counts.Delivered));

        using var again = await platform.Alpha.PostAsync($"/api/batches/{id}/cancel", null);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Equal("application/problem+json", again.Content.Headers.ContentType?.MediaType);
        using var retry = await platform.Alpha.PostAsync($"/api/batches/{id}/retry-failed", null);
        Assert.Contains("\"retried\":0", await retry.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Cancelling_a_batch_in_the_middle_of_sending_stops_the_letters_not_yet_sent_and_the_sent_ones_are_delivered()
    {
        // 56 rows in 8 chunks: one partition, dispatched 4 chunks (28 letters) a step. The receiver holds its pushes, so
        // the first step's letters are stored in the bulk lane and pushed, and the second step waits for a push to end.
        await using var receiver = await HeldReceiver.Start();
        var org = new TestOrganisation(PlatformFixture.NewCvr());
        await platform.Put($"/api/organisations/{org.Cvr}", new OrganisationRegistration($"Held {org.Cvr}"));
        await platform.Put($"/api/organisations/{org.Cvr}/receiver-systems/a",
            new ReceiverSystemBody(receiver.Endpoint, org.TechnicalContact("a"), IsPrimary: true));
        await platform.IssueReceiverKey(org, "a");
        await platform.LoadCompanies($"{org.Cvr};Held;aktiv;;");
        var upload = await platform.Alpha.SubmitBatch(Options(), "cvr;navn;beloeb\n" + string.Join("\n", Enumerable.Range(1, 56).Select(i => $"{org.Cvr};Held;{i},00")));
        var id = upload.Body!.BatchId;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (receiver.Held < 8 && DateTime.UtcNow < deadline) await Task.Delay(10);
        Assert.Equal(8, receiver.Held);

        using var cancel = await platform.Alpha.PostAsync($"/api/batches/{id}/cancel", null);
        Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
        Assert.Contains("\"cancelled\":28", await cancel.Content.ReadAsStringAsync());
        var cancelled = await platform.Alpha.Batch(id);
        Assert.Equal((28, 28, 0), (cancelled.Counts.Cancelled, cancelled.Counts.Queued, cancelled.Counts.Pending));

        receiver.Release();
        deadline = DateTime.UtcNow.AddSeconds(30);
        while (receiver.Received.Count < 28 && DateTime.UtcNow < deadline) await Task.Delay(10);
        using var receipts = await platform.ReceiverHttp(org, "a").PostAsJsonAsync("/api/receipts/batch",
            receiver.Received.Keys.Select(uuid => new BusinessReceipt(uuid, true)).ToList(), PlatformJson.Options);
        receipts.EnsureSuccessStatusCode();
        var done = await platform.Alpha.WaitForCompletion(id);

        Assert.Equal((56, 28, 28, 0, 1.0), (done.Counts.Accepted, done.Counts.Delivered, done.Counts.Cancelled, done.Counts.Pending, done.Progress));
        // Only the first step's letters reached the receiver: rows 1 to 28, each delivered.
        var letters = await platform.Alpha.Letters(id);
        Assert.Equal(Enumerable.Range(1, 28), letters.Select(l => l.Row));
        Assert.All(letters, l => Assert.Equal(LetterState.Delivered, l.State));
        Assert.Equal(letters.Select(l => l.MessageUuid!.Value).Order(), receiver.Received.Keys.Order());
        using var again = await platform.Alpha.PostAsync($"/api/batches/{id}/cancel", null);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
    }

    private static byte[] CodePagesEncoding(string text)
    {
        Encoding.RegisterProvider(CodePagesEncodingProvider.Instance);
        return Encoding.GetEncoding(1252).GetBytes(text);
    }

    private static string Unknown() => PlatformFixture.NewCvr();
}
