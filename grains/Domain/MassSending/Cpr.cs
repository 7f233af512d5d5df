using System.Text.RegularExpressions;

namespace DigitalPost.Domain.MassSending;

/// <summary>
/// The result of checking a CPR number. <see cref="Error"/> never holds the full number, so it may be shown or logged.
/// A failed modulus-11 check leaves <see cref="IsValid"/> true: since 2007 valid numbers without it are issued.
/// </summary>
public sealed record CprCheck(bool IsValid, string? Error, DateOnly? BirthDate, bool Modulus11Holds);

/// <summary>Danish personal identification numbers (CPR): DDMMYYSSSS, where the 7th digit and YY give the century.</summary>
public static partial class Cpr
{
    private static readonly int[] Weights = [4, 3, 2, 7, 6, 5, 4, 3, 2, 1];

    /// <summary>Removes surrounding whitespace and the dash of DDMMYY-SSSS; anything else is left for <see cref="Check"/> to reject.</summary>
    public static string Normalise(string value)
    {
        var trimmed = value.Trim();
        return trimmed.Length == 11 && trimmed[6] == '-' ? string.Concat(trimmed.AsSpan(0, 6), trimmed.AsSpan(7)) : trimmed;
    }

    public static CprCheck Check(string? value)
    {
        if (string.IsNullOrWhiteSpace(value)) return Invalid("is empty; write the CPR number as DDMMYYSSSS or DDMMYY-SSSS");
        var cpr = Normalise(value);
        // A value of the wrong shape may still be most of a real CPR number (a digit missing), so it is described, not echoed.
        if (!cpr.All(char.IsAsciiDigit))
            return Invalid("is not a CPR number: it contains characters other than digits; write DDMMYYSSSS or DDMMYY-SSSS");
        if (cpr.Length != 10)
            return Invalid($"is not a CPR number: it has {cpr.Length} digits, a CPR number has 10 (DDMMYYSSSS or DDMMYY-SSSS)");
        if (BirthDate(cpr) is not { } birth)
            return Invalid($"'{Mask(cpr)}' is not a CPR number: its first six digits are not a real date (DDMMYY) in the century its 7th digit gives");
        return new(true, null, birth, Modulus11(cpr));
    }

    public static bool IsValid(string? value) => Check(value).IsValid;

    /// <summary>The number made of <paramref name="nineDigits"/> and the digit that makes it pass the modulus-11 check,
    /// or null where no digit does (about one in eleven): test and synthetic data that should raise no warning.</summary>
    public static string? WithCheckDigit(string nineDigits) => Domain.Modulus11.WithCheckDigit(nineDigits, Weights);

    /// <summary>Whole years from <paramref name="birth"/> to <paramref name="on"/>; negative when <paramref name="on"/> is
    /// before the birth. Someone born on 29 February gets a year older on 1 March in other years, as Danish practice has it.</summary>
    public static int AgeOn(DateOnly birth, DateOnly on)
    {
        var years = on.Year - birth.Year;
        return (on.Month, on.Day).CompareTo((birth.Month, birth.Day)) < 0 ? years - 1 : years;
    }

    /// <summary>"DDMMYY-XXXX": the birth date stays (senders need it to find the row) and the serial number, which
    /// makes the number identify a person, goes. Anything shorter than six characters is masked entirely.</summary>
    public static string Mask(string cpr)
    {
        var normalised = Normalise(cpr);
        return normalised.Length >= 6 ? $"{normalised[..6]}-XXXX" : "XXXXXX-XXXX";
    }

    /// <summary>Masks everything in free text that looks like a CPR number (ten digits, with or without the dash), for
    /// echoing values of other columns back to the sender or into logs: a CPR number may sit in any cell.</summary>
    public static string Redact(string text) => CprLike().Replace(text, m => $"{m.Groups[1].Value}-XXXX");

    private static DateOnly? BirthDate(string cpr)
    {
        var day = (cpr[0] - '0') * 10 + (cpr[1] - '0');
        var month = (cpr[2] - '0') * 10 + (cpr[3] - '0');
        var yy = (cpr[4] - '0') * 10 + (cpr[5] - '0');
        var year = (cpr[6] - '0') switch
        {
            <= 3 => 1900 + yy,
            4 or 9 => yy <= 36 ? 2000 + yy : 1900 + yy,
            _ => yy <= 57 ? 2000 + yy : 1800 + yy,
        };
        if (month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month)) return null;
        return new DateOnly(year, month, day);
    }

    private static bool Modulus11(string cpr)
    {
        var sum = 0;
        for (var i = 0; i < 10; i++) sum += (cpr[i] - '0') * Weights[i];
        return sum % 11 == 0;
    }

    private static CprCheck Invalid(string error) => new(false, error, null, false);

    [GeneratedRegex(@"(?<!\d)(\d{6})-?\d{4}(?!\d)")]
    private static partial Regex CprLike();
}

/// <summary>Production units (P-numre) of a company: ten digits, without a check digit.</summary>
public static class PNumber
{
    /// <summary>Null when <paramref name="value"/> is a P-number, else why not. P-numbers are not personal data, so the value is echoed.</summary>
    public static string? Check(string? value)
    {
        if (string.IsNullOrWhiteSpace(value)) return "is empty; a P-number has 10 digits";
        return value is { Length: 10 } && value.All(char.IsAsciiDigit) ? null : $"'{value}' is not a P-number (10 digits)";
    }
}
