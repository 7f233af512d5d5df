using DigitalPost.Contracts;
using DigitalPost.Domain.MassSending;

namespace DigitalPost.Tests.Unit;

public class BatchRowsTests
{
    [Fact]
    public void Packed_rows_come_back_as_they_were_with_merge_fields_matched_ignoring_case()
    {
        BatchRow[] rows =
        [
            new(1, RecipientKind.Cpr, "0101901234", null, new Dictionary<string, string> { ["navn"] = "Åse Ødegård", ["beløb"] = "1.234,50" }, [], ["12345674"]),
            new(2, RecipientKind.Cvr, "12345674", "1003456789", new Dictionary<string, string> { ["navn"] = "Firma A/S", ["note"] = "" }, ["bilag1.pdf", "bilag2.pdf"], []),
            new(70_000, RecipientKind.Cvr, "", "1003456789", new Dictionary<string, string>(), [], []),
        ];

        var back = BatchRows.Unpack(BatchRows.Pack(rows));

        Assert.Equal(rows.Length, back.Count);
        for (var i = 0; i < rows.Length; i++)
        {
            Assert.Equal((rows[i].Row, rows[i].Kind, rows[i].RecipientId, rows[i].PNumber), (back[i].Row, back[i].Kind, back[i].RecipientId, back[i].PNumber));
            Assert.Equal(rows[i].Fields.OrderBy(f => f.Key), back[i].Fields.OrderBy(f => f.Key));
            Assert.Equal(rows[i].Attachments, back[i].Attachments);
            Assert.Equal(rows[i].Copies, back[i].Copies);
        }
        Assert.Equal("Åse Ødegård", back[0].Fields["NAVN"]);
    }

    [Fact]
    public void Packed_rows_of_an_unknown_version_are_refused()
    {
        var packed = BatchRows.Pack([new(1, RecipientKind.Cpr, "0101901234", null, new Dictionary<string, string>(), [], [])]);
        packed[0] = 99;
        Assert.Throws<InvalidDataException>(() => BatchRows.Unpack(packed));
    }
}
