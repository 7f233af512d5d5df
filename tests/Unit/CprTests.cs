using DigitalPost.Domain.MassSending;

namespace DigitalPost.Tests.Unit;

public class CprTests
{
    /// <summary>Appends the digit that makes the weighted sum (4,3,2,7,6,5,4,3,2 and 1 for itself) divisible by 11.</summary>
    internal static string WithCheckDigit(string nineDigits)
    {
        int[] weights = [4, 3, 2, 7, 6, 5, 4, 3, 2];
        var sum = nineDigits.Select((c, i) => (c - '0') * weights[i]).Sum();
        var check = (11 - sum % 11) % 11;
        Assert.True(check < 10, $"{nineDigits} has no modulus-11 check digit; pick another serial number");
        return nineDigits + check;
    }

    /// <summary>A CPR number that fails modulus 11: the valid one with its last digit changed.</summary>
    internal static string WithoutCheckDigit(string nineDigits)
    {
        var valid = WithCheckDigit(nineDigits);
        return valid[..9] + (char)('0' + (valid[9] - '0' + 1) % 10);
    }

    [Fact]
    public void A_number_with_a_valid_date_and_modulus_11_is_valid()
    {
        var cpr = WithCheckDigit("150805400");

        var check = Cpr.Check(cpr);

        Assert.True(check.IsValid);
        Assert.Null(check.Error);
        Assert.True(check.Modulus11Holds);
        Assert.Equal(new DateOnly(2005, 8, 15), check.BirthDate);
    }

    [Fact]
    public void The_dash_form_is_accepted_and_normalised_away()
    {
        var cpr = WithCheckDigit("150805400");
        var dashed = $"{cpr[..6]}-{cpr[6..]}";

        Assert.True(Cpr.Check(dashed).IsValid);
        Assert.Equal(cpr, Cpr.Normalise(dashed));
        Assert.Equal(cpr, Cpr.Normalise($"  {cpr} "));
    }

    [Fact]
    public void A_failed_modulus_11_check_is_a_warning_not_a_rejection()
    {
        var check = Cpr.Check(WithoutCheckDigit("150805400"));

        Assert.True(check.IsValid);
        Assert.Null(check.Error);
        Assert.False(check.Modulus11Holds);
        Assert.Equal(new DateOnly(2005, 8, 15), check.BirthDate);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("   ", "empty")]
    [InlineData("150805400", "9 digits")]
    [InlineData("15080540012", "11 digits")]
    [InlineData("15O8054001", "other than digits")]
    [InlineData("150805+4001", "other than digits")]
    public void A_value_of_the_wrong_shape_is_rejected_with_its_reason(string value, string reason)
    {
        var check = Cpr.Check(value);

        Assert.False(check.IsValid);
        Assert.Contains(reason, check.Error);
        Assert.Null(check.BirthDate);
    }

    [Fact]
    public void Null_is_rejected()
    {
        Assert.False(Cpr.Check(null).IsValid);
    }

    [Theory]
    [InlineData("3102804001")] // 31 February
    [InlineData("0013804001")] // month 13
    [InlineData("0001804001")] // day 0
    public void The_first_six_digits_must_be_a_real_date(string cpr)
    {
        var check = Cpr.Check(cpr);

        Assert.False(check.IsValid);
        Assert.Contains("not a real date", check.Error);
        Assert.DoesNotContain(cpr, check.Error);
        Assert.Contains($"{cpr[..6]}-XXXX", check.Error);
    }

    [Theory]
    // 7th digit 0-3: the 1900s, whatever the year.
    [InlineData("010100", '0', 1900)]
    [InlineData("010199", '3', 1999)]
    [InlineData("010136", '2', 1936)]
    // 4 and 9: 2000-2036 for YY up to 36, else the 1900s.
    [InlineData("010136", '4', 2036)]
    [InlineData("010137", '4', 1937)]
    [InlineData("010100", '4', 2000)]
    [InlineData("010136", '9', 2036)]
    [InlineData("010137", '9', 1937)]
    // 5-8: 2000-2057 for YY up to 57, else 1858-1899.
    [InlineData("010157", '5', 2057)]
    [InlineData("010158", '5', 1858)]
    [InlineData("010157", '8', 2057)]
    [InlineData("010158", '8', 1858)]
    [InlineData("010199", '6', 1899)]
    [InlineData("010100", '7', 2000)]
    public void The_seventh_digit_and_the_year_give_the_century(string ddmmyy, char seventh, int year)
    {
        var cpr = ddmmyy + seventh + "000";

        var check = Cpr.Check(cpr);

        Assert.True(check.IsValid, check.Error);
        Assert.Equal(new DateOnly(year, 1, 1), check.BirthDate);
    }

    [Theory]
    [InlineData("290200", '4', true)] // 2000: divisible by 400, a leap year
    [InlineData("290200", '0', false)] // 1900: divisible by 100, not a leap year
    [InlineData("290296", '0', true)] // 1996
    [InlineData("290297", '0', false)] // 1997
    [InlineData("290208", '5', true)] // 2008
    [InlineData("290258", '5', false)] // 1858
    public void The_29th_of_February_exists_only_in_leap_years(string ddmmyy, char seventh, bool exists)
    {
        var check = Cpr.Check(ddmmyy + seventh + "000");

        Assert.Equal(exists, check.IsValid);
        Assert.Equal(exists, check.BirthDate is { Month: 2, Day: 29 });
    }

    [Theory]
    [InlineData("2008-06-15", "2026-06-14", 17)] // the day before the birthday
    [InlineData("2008-06-15", "2026-06-15", 18)] // on the birthday
    [InlineData("2008-06-15", "2026-12-31", 18)]
    [InlineData("2008-06-15", "2008-06-15", 0)]
    [InlineData("2008-02-29", "2026-02-28", 17)] // born on a leap day: not yet in a common year's February
    [InlineData("2008-02-29", "2026-03-01", 18)] // but on 1 March
    [InlineData("2008-02-29", "2028-02-29", 20)]
    [InlineData("2008-06-15", "2008-06-14", -1)]
    public void AgeOn_counts_whole_years(string birth, string on, int age)
    {
        Assert.Equal(age, Cpr.AgeOn(DateOnly.Parse(birth), DateOnly.Parse(on)));
    }

    [Theory]
    [InlineData("1508054005", "150805-XXXX")]
    [InlineData("150805-4005", "150805-XXXX")]
    [InlineData("12345", "XXXXXX-XXXX")]
    public void Mask_keeps_the_birth_date_and_hides_the_serial_number(string cpr, string masked)
    {
        Assert.Equal(masked, Cpr.Mask(cpr));
    }

    [Fact]
    public void Redact_masks_every_cpr_like_number_in_text_and_leaves_other_numbers()
    {
        var text = "to 1508054005 and 150805-4005, invoice 12345678, phone 12345678901";

        var redacted = Cpr.Redact(text);

        Assert.Equal("to 150805-XXXX and 150805-XXXX, invoice 12345678, phone 12345678901", redacted);
    }

    [Theory]
    [InlineData("1003456789", null)]
    [InlineData("100345678", "not a P-number")]
    [InlineData("100345678X", "not a P-number")]
    [InlineData("", "empty")]
    [InlineData(null, "empty")]
    public void A_P_number_is_ten_digits(string? value, string? error)
    {
        var result = PNumber.Check(value);

        if (error is null) Assert.Null(result);
        else Assert.Contains(error, result);
    }
}
