using System.Text;
using DigitalPost.Contracts;

namespace DigitalPost.Domain.MassSending;

/// <summary>A chunk of batch rows packed into one byte array, as a chunk is stored. The grain serializer tracks every
/// object it writes (each row, dictionary and string) to keep shared references shared; for a million rows with their
/// merge fields that tracking was a third of the upload's CPU. Rows share no references worth keeping, so they are
/// written plainly: merge-field names once per chunk, then each row's values.</summary>
public static class BatchRows
{
    private const byte Version = 1;

    public static byte[] Pack(IReadOnlyList<BatchRow> rows)
    {
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(Version);
            var names = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var row in rows)
                foreach (var name in row.Fields.Keys)
                    names.TryAdd(name, names.Count);
            writer.Write7BitEncodedInt(names.Count);
            foreach (var name in names.Keys) writer.Write(name);
            writer.Write7BitEncodedInt(rows.Count);
            foreach (var row in rows)
            {
                writer.Write7BitEncodedInt(row.Row);
                writer.Write((byte)row.Kind);
                writer.Write(row.RecipientId);
                WriteOptional(writer, row.PNumber);
                writer.Write7BitEncodedInt(row.Fields.Count);
                foreach (var (name, value) in row.Fields)
                {
                    writer.Write7BitEncodedInt(names[name]);
                    writer.Write(value);
                }
                WriteList(writer, row.Attachments);
                WriteList(writer, row.Copies);
            }
        }
        return buffer.ToArray();
    }

    public static List<BatchRow> Unpack(byte[] packed)
    {
        using var reader = new BinaryReader(new MemoryStream(packed, writable: false), Encoding.UTF8);
        if (reader.ReadByte() is var version and not Version) throw new InvalidDataException($"Packed batch rows of version {version} are not known.");
        var names = new string[reader.Read7BitEncodedInt()];
        for (var i = 0; i < names.Length; i++) names[i] = reader.ReadString();
        var rowCount = reader.Read7BitEncodedInt();
        var rows = new List<BatchRow>(rowCount);
        for (var r = 0; r < rowCount; r++)
        {
            var row = reader.Read7BitEncodedInt();
            var kind = (RecipientKind)reader.ReadByte();
            var recipientId = reader.ReadString();
            var pNumber = reader.ReadBoolean() ? reader.ReadString() : null;
            // As the CSV reader makes them: merge fields are matched ignoring case.
            var fieldCount = reader.Read7BitEncodedInt();
            var fields = new Dictionary<string, string>(fieldCount, StringComparer.OrdinalIgnoreCase);
            for (var i = 0; i < fieldCount; i++) fields[names[reader.Read7BitEncodedInt()]] = reader.ReadString();
            rows.Add(new BatchRow(row, kind, recipientId, pNumber, fields, ReadList(reader), ReadList(reader)));
        }
        return rows;
    }

    private static void WriteOptional(BinaryWriter writer, string? value)
    {
        writer.Write(value is not null);
        if (value is not null) writer.Write(value);
    }

    private static void WriteList(BinaryWriter writer, IReadOnlyList<string> values)
    {
        writer.Write7BitEncodedInt(values.Count);
        foreach (var value in values) writer.Write(value);
    }

    private static List<string> ReadList(BinaryReader reader)
    {
        var count = reader.Read7BitEncodedInt();
        var values = new List<string>(count);
        for (var i = 0; i < count; i++) values.Add(reader.ReadString());
        return values;
    }
}
