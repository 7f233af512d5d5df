using System.Security.Claims;
using System.Text.Json;
using DigitalPost.Contracts;
using Npgsql;
using NpgsqlTypes;

namespace DigitalPost.Silo.Auth;

/// <summary>One administrative change: who (credential id and role), what (the endpoint), to what (the request's
/// path), when, and the state before and after as JSON.</summary>
public sealed record AuditEntry(long Seq, DateTimeOffset At, string Actor, string Role, string Action, string Target, JsonElement? Before, JsonElement? After);

/// <summary>The audit log: append-only, read by operators newest first.</summary>
public interface IAuditLog
{
    Task Append(AuditEntry entry);

    /// <summary>Entries newest first: <paramref name="skip"/> of them left out, at most <paramref name="take"/>.</summary>
    Task<IReadOnlyList<AuditEntry>> Page(int skip, int take);
}

public sealed class MemoryAuditLog : IAuditLog
{
    private readonly List<AuditEntry> _entries = [];

    public Task Append(AuditEntry entry)
    {
        lock (_entries) _entries.Add(entry with { Seq = _entries.Count + 1 });
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<AuditEntry>> Page(int skip, int take)
    {
        lock (_entries) return Task.FromResult<IReadOnlyList<AuditEntry>>([.. Enumerable.Reverse(_entries).Skip(skip).Take(take)]);
    }
}

/// <summary>Table <c>audit_entry</c> (deploy/sql/016_credentials.sql), whose triggers refuse updates and deletes.</summary>
public sealed class PostgresAuditLog(NpgsqlDataSource db) : IAuditLog
{
    public async Task Append(AuditEntry entry)
    {
        await using var command = db.CreateCommand("INSERT INTO audit_entry (at, actor, role, action, target, before, after) VALUES ($1, $2, $3, $4, $5, $6, $7)");
        command.Parameters.AddWithValue(entry.At);
        command.Parameters.AddWithValue(entry.Actor);
        command.Parameters.AddWithValue(entry.Role);
        command.Parameters.AddWithValue(entry.Action);
        command.Parameters.AddWithValue(entry.Target);
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Jsonb, Value = (object?)entry.Before?.GetRawText() ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Jsonb, Value = (object?)entry.After?.GetRawText() ?? DBNull.Value });
        await command.ExecuteNonQueryAsync();
    }

    public async Task<IReadOnlyList<AuditEntry>> Page(int skip, int take)
    {
        await using var command = db.CreateCommand("SELECT seq, at, actor, role, action, target, before::text, after::text FROM audit_entry ORDER BY seq DESC OFFSET $1 LIMIT $2");
        command.Parameters.AddWithValue(skip);
        command.Parameters.AddWithValue(take);
        var entries = new List<AuditEntry>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            entries.Add(new AuditEntry(reader.GetInt64(0), reader.GetFieldValue<DateTimeOffset>(1), reader.GetString(2), reader.GetString(3), reader.GetString(4),
                reader.GetString(5), Json(reader, 6), Json(reader, 7)));
        return entries;
    }

    private static JsonElement? Json(NpgsqlDataReader reader, int column) =>
        reader.IsDBNull(column) ? null : JsonDocument.Parse(reader.GetString(column)).RootElement.Clone();
}

public static class Auditing
{
    /// <summary>Records a change the caller made. The states are written as the API writes them.</summary>
    public static Task Record(this HttpContext http, string action, string target, object? before, object? after)
    {
        var user = http.User;
        return http.RequestServices.GetRequiredService<IAuditLog>().Append(new AuditEntry(0, http.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow(),
            user.Id(), user.FindFirstValue(ClaimTypes.Role) ?? "", action, target, ToJson(before), ToJson(after)));
    }

    /// <summary>Every change an endpoint of the group makes (any method but GET) goes into the audit log with the state
    /// <paramref name="state"/> reads before and after it; a change that fails (an exception, an answer outside 2xx)
    /// changed nothing and is not recorded.</summary>
    public static TBuilder Audited<TBuilder>(this TBuilder builder, Func<HttpContext, Task<object?>> state) where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            if (HttpMethods.IsGet(http.Request.Method) || HttpMethods.IsHead(http.Request.Method)) return await next(context);
            var before = await state(http);
            var result = await next(context);
            if (result is IStatusCodeHttpResult { StatusCode: < 200 or >= 300 }) return result;
            var pattern = (http.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? http.Request.Path.Value;
            await http.Record($"{http.Request.Method} {pattern}", http.Request.Path.Value ?? "", before, await state(http));
            return result;
        });

    private static JsonElement? ToJson(object? state) => state is null ? null : JsonSerializer.SerializeToElement(state, state.GetType(), PlatformJson.Options);
}
