using Npgsql;

namespace DigitalPost.Ngdp;

/// <summary>A page of one owner's rows (a sender's receipts, a pull system's waiting MeMos) in the order they came, with
/// the owner's total, in one round trip: each row carries the total; a page past the end costs a count of its own.</summary>
internal static class PostgresPages
{
    public static async Task<(List<T> Rows, long Total)> Read<T>(NpgsqlDataSource db, string table, string columns, string ownerColumn, string owner,
        int page, int size, Func<NpgsqlDataReader, T> read)
    {
        await using var command = db.CreateCommand($"SELECT {columns}, count(*) OVER () FROM {table} WHERE {ownerColumn} = $1 ORDER BY seq OFFSET $2 LIMIT $3");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = owner });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = (long)page * size });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = size });
        var rows = new List<T>();
        long total = 0;
        await using (var reader = await command.ExecuteReaderAsync())
            while (await reader.ReadAsync())
            {
                rows.Add(read(reader));
                total = reader.GetInt64(reader.FieldCount - 1);
            }
        if (rows.Count == 0)
        {
            await using var count = db.CreateCommand($"SELECT count(*) FROM {table} WHERE {ownerColumn} = $1");
            count.Parameters.Add(new NpgsqlParameter<string> { TypedValue = owner });
            total = (long)(await count.ExecuteScalarAsync())!;
        }
        return (rows, total);
    }
}
