using DigitalPost.Contracts;

namespace DigitalPost.Domain.MassSending;

/// <summary>
/// The contact lookup's answers from what the registry holds: a citizen's age from the CPR number whether or not the
/// citizen is registered, a company found by CVR or by a P-number alone, and an unknown recipient for anything not
/// there. Both registry stores fetch the records a list of queries names and answer through this, so they answer
/// alike.
/// </summary>
public static class RecipientLookup
{
    /// <summary>The numbers a store must look up for <paramref name="queries"/>: CPR numbers, CVR numbers, and P-numbers
    /// (whose company is needed even when the query gives no CVR).</summary>
    public static (string[] Cprs, string[] Cvrs, string[] PNumbers) Keys(IReadOnlyList<RecipientQuery> queries)
    {
        var (cprs, cvrs, pNumbers) = (new HashSet<string>(), new HashSet<string>(), new HashSet<string>());
        foreach (var query in queries)
        {
            if (query.Kind == RecipientKind.Cpr) cprs.Add(query.Id);
            else
            {
                if (!string.IsNullOrEmpty(query.Id)) cvrs.Add(query.Id);
                if (query.PNumber is { } p) pNumbers.Add(p);
            }
        }
        return ([.. cprs], [.. cvrs], [.. pNumbers]);
    }

    /// <summary>The answer to each query, in order, given the records a store found for <see cref="Keys"/>.</summary>
    /// <param name="now">The platform's clock: ages are whole years on its date (UTC).</param>
    public static IReadOnlyList<RecipientInfo> Answer(IReadOnlyList<RecipientQuery> queries, DateTimeOffset now,
        Func<string, Citizen?> citizen, Func<string, Company?> company, Func<string, string?> cvrOfPNumber)
    {
        var today = DateOnly.FromDateTime(now.UtcDateTime);
        var answers = new RecipientInfo[queries.Count];
        for (var i = 0; i < answers.Length; i++)
            answers[i] = queries[i].Kind == RecipientKind.Cpr ? Citizen(queries[i].Id, citizen(queries[i].Id), today) : Company(queries[i], company, cvrOfPNumber);
        return answers;
    }

    private static RecipientInfo Citizen(string cpr, Citizen? found, DateOnly today)
    {
        var age = Cpr.Check(cpr).BirthDate is { } birth ? Cpr.AgeOn(birth, today) : (int?)null;
        if (found is null) return new(RecipientKind.Cpr, cpr, RecipientVerdict.Unknown, null, null, false, age, [], [], []);
        var verdict = found.Status == RegistrationStatus.Registered ? RecipientVerdict.DigitalPost : RecipientVerdict.NoActiveMailbox;
        return new(RecipientKind.Cpr, cpr, verdict, found.Name, found.Status, found.NemSms, age, found.Guardians, [], found.Address);
    }

    /// <summary>A company by CVR, or by P-number alone (the CVR is then found from the P-number). A P-number that is not
    /// the company's makes the recipient unknown: the letter would go to a production unit that is not there.</summary>
    private static RecipientInfo Company(RecipientQuery query, Func<string, Company?> company, Func<string, string?> cvrOfPNumber)
    {
        var cvr = query.Id;
        if (string.IsNullOrEmpty(cvr) && query.PNumber is { } p) cvr = cvrOfPNumber(p) ?? "";
        var found = cvr.Length > 0 ? company(cvr) : null;
        if (found is null || (query.PNumber is { } pn && !found.PNumbers.Contains(pn)))
            return new(RecipientKind.Cvr, cvr, RecipientVerdict.Unknown, null, null, false, null, [], [], []);
        return new(RecipientKind.Cvr, cvr, found.MailboxActive ? RecipientVerdict.DigitalPost : RecipientVerdict.NoActiveMailbox,
            found.Name, null, false, null, [], found.PNumbers, found.Address);
    }
}
