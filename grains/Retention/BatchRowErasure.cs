using DigitalPost.Contracts;

namespace DigitalPost.Retention;

/// <summary>A batch's rows without one recipient: the rows addressed to them go, with their merge fields, and they are
/// taken out of the copies of the rest.</summary>
public static class BatchRowErasure
{
    public static (IReadOnlyList<BatchRow> Rows, int Named) Without(IReadOnlyList<BatchRow> rows, string recipientId)
    {
        var kept = new List<BatchRow>(rows.Count);
        var named = 0;
        foreach (var row in rows)
        {
            if (string.Equals(row.RecipientId, recipientId, StringComparison.Ordinal))
            {
                named++;
                continue;
            }
            if (row.Copies.Contains(recipientId, StringComparer.Ordinal))
            {
                named++;
                kept.Add(row with { Copies = [.. row.Copies.Where(c => !string.Equals(c, recipientId, StringComparison.Ordinal))] });
            }
            else kept.Add(row);
        }
        return (kept, named);
    }
}
