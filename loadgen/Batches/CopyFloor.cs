using System.Diagnostics;
using Npgsql;
using NpgsqlTypes;
using Spectre.Console;

namespace DigitalPost.LoadGen.Batches;

/// <summary>The floor of durable ingest: binary COPY of N rows shaped like the platform's letter rows into a scratch
/// table of the same PostgreSQL, in one transaction. Nothing the platform does per letter can be cheaper than this.</summary>
public static class CopyFloor
{
    public static async Task<double> Measure(string connectionString, int rows, IAnsiConsole console, CancellationToken cancellationToken)
    {
        await using var db = NpgsqlDataSource.Create(connectionString);
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using (var create = new NpgsqlCommand("DROP TABLE IF EXISTS bench_copy_floor; CREATE TABLE bench_copy_floor (LIKE letter INCLUDING ALL)", connection))
            await create.ExecuteNonQueryAsync(cancellationToken);
        var batch = Guid.NewGuid();
        var clock = Stopwatch.StartNew();
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            await using (var copy = await connection.BeginBinaryImportAsync(
                "COPY bench_copy_floor (batch_id, row, copy, generation, uuid, state, final, rerouted, kind, recipient_id, bulk_system, pushed_at) FROM STDIN (FORMAT BINARY)", cancellationToken))
            {
                var now = DateTimeOffset.UtcNow;
                for (var row = 1; row <= rows; row++)
                {
                    await copy.StartRowAsync(cancellationToken);
                    await copy.WriteAsync(batch, NpgsqlDbType.Uuid, cancellationToken);
                    await copy.WriteAsync(row, NpgsqlDbType.Integer, cancellationToken);
                    await copy.WriteAsync(0, NpgsqlDbType.Integer, cancellationToken);
                    await copy.WriteAsync(0, NpgsqlDbType.Integer, cancellationToken);
                    await copy.WriteAsync(Guid.NewGuid(), NpgsqlDbType.Uuid, cancellationToken);
                    await copy.WriteAsync((short)1, NpgsqlDbType.Smallint, cancellationToken);
                    await copy.WriteAsync(false, NpgsqlDbType.Boolean, cancellationToken);
                    await copy.WriteAsync(false, NpgsqlDbType.Boolean, cancellationToken);
                    await copy.WriteAsync((short)1, NpgsqlDbType.Smallint, cancellationToken);
                    await copy.WriteAsync("12345674", NpgsqlDbType.Text, cancellationToken);
                    await copy.WriteAsync("12345674/erp", NpgsqlDbType.Text, cancellationToken);
                    await copy.WriteAsync(now, NpgsqlDbType.TimestampTz, cancellationToken);
                }
                await copy.CompleteAsync(cancellationToken);
            }
            await transaction.CommitAsync(cancellationToken);
        }
        var seconds = Math.Round(clock.Elapsed.TotalSeconds, 3);
        await using (var drop = new NpgsqlCommand("DROP TABLE bench_copy_floor", connection)) await drop.ExecuteNonQueryAsync(cancellationToken);
        console.MarkupLineInterpolated($"COPY floor: {rows} rows in {seconds} s");
        return seconds;
    }
}
