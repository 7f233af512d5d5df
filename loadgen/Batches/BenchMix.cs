using System.Globalization;

namespace DigitalPost.LoadGen.Batches;

/// <summary>Who a synthetic batch goes to, in percent of its rows: registered citizens (their Digital Post mailbox),
/// exempt citizens (physical post), NemSMS subscribers (registered citizens who also take NemSMS; in an automatic
/// batch their letters go to the mailbox too) and organisations (their receiver systems).</summary>
public sealed record BenchMix(int Citizens, int Exempt, int NemSms, int Organisations)
{
    public static readonly BenchMix Default = new(80, 5, 3, 12);
    public static readonly BenchMix CitizensOnly = new(100, 0, 0, 0);
    public static readonly BenchMix OrganisationsOnly = new(0, 0, 0, 100);

    /// <summary>"citizens=80,exempt=5,nemsms=3,organisations=12", or one of the words default, citizens, organisations.</summary>
    public static BenchMix Parse(string text)
    {
        switch (text.Trim().ToLowerInvariant())
        {
            case "default": return Default;
            case "citizens": return CitizensOnly;
            case "organisations": return OrganisationsOnly;
        }
        int citizens = 0, exempt = 0, nemSms = 0, organisations = 0;
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var pair = part.Split('=', 2, StringSplitOptions.TrimEntries);
            if (pair.Length != 2 || !int.TryParse(pair[1], NumberStyles.None, CultureInfo.InvariantCulture, out var share))
                throw new FormatException($"'{part}' is not name=percent");
            switch (pair[0].ToLowerInvariant())
            {
                case "citizens": citizens = share; break;
                case "exempt": exempt = share; break;
                case "nemsms": nemSms = share; break;
                case "organisations": organisations = share; break;
                default: throw new FormatException($"'{pair[0]}' is not citizens, exempt, nemsms or organisations");
            }
        }
        var mix = new BenchMix(citizens, exempt, nemSms, organisations);
        if (citizens + exempt + nemSms + organisations != 100) throw new FormatException($"the shares of '{text}' add up to {mix.Total}, not 100");
        return mix;
    }

    public int Total => Citizens + Exempt + NemSms + Organisations;

    public bool HasCitizens => Citizens + Exempt + NemSms > 0;

    /// <summary>What a row goes to. Each run of 100 rows holds the shares exactly, interleaved (37 is prime to 100, so
    /// row * 37 takes every slot once a hundred rows), so a batch cut short still has the mix.</summary>
    public RecipientGroup GroupOf(int row)
    {
        var slot = (int)((long)row * 37 % 100);
        return slot < Citizens ? RecipientGroup.Citizen
            : slot < Citizens + Exempt ? RecipientGroup.Exempt
            : slot < Citizens + Exempt + NemSms ? RecipientGroup.NemSms
            : RecipientGroup.Organisation;
    }

    public override string ToString() => $"citizens={Citizens},exempt={Exempt},nemsms={NemSms},organisations={Organisations}";
}

public enum RecipientGroup { Citizen, Exempt, NemSms, Organisation }

/// <summary>Synthetic CPR numbers of adults that pass the modulus-11 check, the same for the same index.</summary>
public static class SyntheticCprs
{
    private static readonly int[] Weights = [4, 3, 2, 7, 6, 5, 4, 3, 2, 1];

    /// <summary>The first <paramref name="count"/> valid numbers from 1 January 1950 on, day by day: about 90 a day.</summary>
    public static IEnumerable<string> Take(int count)
    {
        var produced = 0;
        for (var day = new DateOnly(1950, 1, 1); produced < count; day = day.AddDays(1))
        {
            var prefix = day.ToString("ddMMyy", CultureInfo.InvariantCulture);
            // Serials 0-3999 with a first digit of 0-3 mean a birth in the 1900s for every year.
            for (var serial = 0; serial < 4000 && produced < count; serial++)
            {
                var cpr = prefix + serial.ToString("D4", CultureInfo.InvariantCulture);
                var sum = 0;
                for (var i = 0; i < 10; i++) sum += (cpr[i] - '0') * Weights[i];
                if (sum % 11 != 0) continue;
                produced++;
                yield return cpr;
            }
        }
    }
}
