using System.Buffers;
using System.Collections.Concurrent;
using System.Data;
using System.Security.Cryptography;
using DigitalPost.Contracts;
using Npgsql;

namespace DigitalPost.Infrastructure;

public enum DocumentPutOutcome
{
    /// <summary>The bytes are stored now.</summary>
    Stored,
    /// <summary>The key held these very bytes already: nothing changed.</summary>
    AlreadyStored,
    /// <summary>The key held other bytes: they were kept, and the stream's were not stored.</summary>
    OtherBytesStored,
}

/// <summary>What a put read from its stream, and what it found under the key.</summary>
public readonly record struct DocumentPut(long Length, string Sha256, DocumentPutOutcome Outcome);

/// <summary>A stored document's size and SHA-256 (hex).</summary>
public readonly record struct StoredDocument(long Length, string Sha256);

/// <summary>Messages' documents, kept once outside grain state and read as streams: a message grain keeps only a
/// reference (<see cref="DocumentFile.Length"/>, <see cref="DocumentFile.Sha256"/>), and pushes, prints and the documents
/// endpoint stream the bytes from here, so a 99.5 MB letter is never whole in a grain's state or in a call.</summary>
public interface IDocumentStore
{
    /// <summary>Stores the stream's bytes under the key, unless the key holds a document already: then the stream is
    /// only read through for its hash and nothing changes, so a repeated put is a no-op.</summary>
    Task<DocumentPut> Put(DocumentKey key, Stream content, CancellationToken cancellationToken = default);

    /// <summary>The document as a stream read from the store as it is consumed; null when none is stored.</summary>
    Task<Stream?> Open(DocumentKey key, CancellationToken cancellationToken = default);

    /// <summary>The document's length and hash; null when none is stored.</summary>
    Task<StoredDocument?> Find(DocumentKey key, CancellationToken cancellationToken = default);

    /// <summary>Deletes every document of the message; answers how many files it had.</summary>
    Task<int> Delete(Guid messageUuid, CancellationToken cancellationToken = default);

    /// <summary>Deletes every document of these messages in one step (retention, erasure); answers how many files they had.</summary>
    Task<int> DeleteAll(IReadOnlyList<Guid> messageUuids);
}

public static class DocumentStreams
{
    /// <summary>Documents are stored and read in pieces of this size: large enough for few rows and round trips, small
    /// enough that a piece in flight costs the silo little memory.</summary>
    public const int ChunkBytes = 1 << 20;

    /// <summary>Reads <paramref name="content"/> to its end, adding what it reads to <paramref name="hash"/>; returns the
    /// number of bytes read.</summary>
    public static async Task<long> ReadToEnd(Stream content, IncrementalHash? hash, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            long length = 0;
            int read;
            while ((read = await content.ReadAsync(buffer, cancellationToken)) > 0)
            {
                hash?.AppendData(buffer, 0, read);
                length += read;
            }
            return length;
        }
        finally { ArrayPool<byte>.Shared.Return(buffer); }
    }

    public static string Hex(IncrementalHash hash) => Convert.ToHexStringLower(hash.GetHashAndReset());

    internal static DocumentPut Repeat(long length, string sha256, StoredDocument stored) =>
        new(length, sha256, stored.Sha256 == sha256 && stored.Length == length ? DocumentPutOutcome.AlreadyStored : DocumentPutOutcome.OtherBytesStored);

    /// <summary>What a put of a key that holds <paramref name="stored"/> does: reads the stream through for its hash.</summary>
    internal static async Task<DocumentPut> Repeat(Stream content, StoredDocument stored, CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var length = await ReadToEnd(content, hash, cancellationToken);
        return Repeat(length, Hex(hash), stored);
    }
}

/// <summary>A stream read forwards only: stored documents as they are read, and MeMo's streams in and out.</summary>
public abstract class ReadOnlyStream : Stream
{
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

/// <summary>The embedded default: documents in memory, in 1 MiB pieces (no array of a whole document, and no copy as a
/// buffer grows), gone with the process like the rest of the embedded storage.</summary>
public sealed class MemoryDocumentStore : IDocumentStore
{
    private sealed record Entry(byte[][] Chunks, StoredDocument Info);

    private readonly ConcurrentDictionary<DocumentKey, Entry> _documents = new();

    public async Task<DocumentPut> Put(DocumentKey key, Stream content, CancellationToken cancellationToken = default)
    {
        if (_documents.TryGetValue(key, out var existing)) return await DocumentStreams.Repeat(content, existing.Info, cancellationToken);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var chunks = new List<byte[]>();
        long length = 0;
        while (true)
        {
            var chunk = GC.AllocateUninitializedArray<byte>(DocumentStreams.ChunkBytes);
            var read = await content.ReadAtLeastAsync(chunk, chunk.Length, throwOnEndOfStream: false, cancellationToken);
            if (read == 0) break;
            if (read < chunk.Length) chunk = chunk[..read];
            hash.AppendData(chunk);
            chunks.Add(chunk);
            length += read;
            if (read < DocumentStreams.ChunkBytes) break;
        }
        var entry = new Entry([.. chunks], new StoredDocument(length, DocumentStreams.Hex(hash)));
        var stored = _documents.GetOrAdd(key, entry);
        return ReferenceEquals(stored, entry)
            ? new DocumentPut(length, entry.Info.Sha256, DocumentPutOutcome.Stored)
            : DocumentStreams.Repeat(length, entry.Info.Sha256, stored.Info);
    }

    public Task<Stream?> Open(DocumentKey key, CancellationToken cancellationToken = default) =>
        Task.FromResult<Stream?>(_documents.TryGetValue(key, out var entry) ? new ChunksStream(entry.Chunks) : null);

    public Task<StoredDocument?> Find(DocumentKey key, CancellationToken cancellationToken = default) =>
        Task.FromResult<StoredDocument?>(_documents.TryGetValue(key, out var entry) ? entry.Info : null);

    public Task<int> Delete(Guid messageUuid, CancellationToken cancellationToken = default) =>
        Task.FromResult(_documents.Keys.Where(k => k.MessageUuid == messageUuid).ToList().Count(key => _documents.TryRemove(key, out _)));

    public Task<int> DeleteAll(IReadOnlyList<Guid> messageUuids)
    {
        var messages = messageUuids.ToHashSet();
        return Task.FromResult(_documents.Keys.Where(k => messages.Contains(k.MessageUuid)).ToList().Count(key => _documents.TryRemove(key, out _)));
    }

    /// <summary>Reads the stored pieces one after another.</summary>
    private sealed class ChunksStream(byte[][] chunks) : ReadOnlyStream
    {
        private int _chunk;
        private int _offset;

        public override int Read(Span<byte> buffer)
        {
            while (_chunk < chunks.Length && _offset == chunks[_chunk].Length) (_chunk, _offset) = (_chunk + 1, 0);
            if (_chunk == chunks.Length) return 0;
            var count = Math.Min(buffer.Length, chunks[_chunk].Length - _offset);
            chunks[_chunk].AsSpan(_offset, count).CopyTo(buffer);
            _offset += count;
            return count;
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(Read(buffer.Span));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            Task.FromResult(Read(buffer.AsSpan(offset, count)));
    }
}

/// <summary>Documents in PostgreSQL (<c>document_file</c> and <c>document_chunk</c>, deploy/sql/014): a document's pieces
/// are written one row each inside one transaction, its <c>document_file</c> row last, so a document is there whole or not
/// at all; reads stream each piece's column from the connection (<see cref="CommandBehavior.SequentialAccess"/>).</summary>
public sealed class PostgresDocumentStore(NpgsqlDataSource db) : IDocumentStore
{
    public async Task<DocumentPut> Put(DocumentKey key, Stream content, CancellationToken cancellationToken = default)
    {
        // The common repeat (a sender sending the same message again) costs a lookup, not a rolled-back write.
        if (await Find(key, cancellationToken) is { } existing) return await DocumentStreams.Repeat(content, existing, cancellationToken);

        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = ArrayPool<byte>.Shared.Rent(DocumentStreams.ChunkBytes);
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        long length = 0;
        try
        {
            await using var insert = new NpgsqlCommand(
                "INSERT INTO document_chunk (message_uuid, document, file, chunk, data) VALUES ($1, $2, $3, $4, $5)", connection, transaction);
            insert.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = key.MessageUuid });
            insert.Parameters.Add(new NpgsqlParameter<int> { TypedValue = key.Document });
            insert.Parameters.Add(new NpgsqlParameter<int> { TypedValue = key.File });
            var chunk = new NpgsqlParameter<int>();
            var data = new NpgsqlParameter<ReadOnlyMemory<byte>> { NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Bytea };
            insert.Parameters.Add(chunk);
            insert.Parameters.Add(data);
            for (var n = 0; ; n++)
            {
                var read = await content.ReadAtLeastAsync(buffer.AsMemory(0, DocumentStreams.ChunkBytes), DocumentStreams.ChunkBytes, throwOnEndOfStream: false, cancellationToken);
                hash.AppendData(buffer, 0, read);
                length += read;
                if (read > 0)
                {
                    (chunk.TypedValue, data.TypedValue) = (n, buffer.AsMemory(0, read));
                    await insert.ExecuteNonQueryAsync(cancellationToken);
                }
                if (read < DocumentStreams.ChunkBytes) break;
            }
            var sha256 = DocumentStreams.Hex(hash);
            await using var file = new NpgsqlCommand(
                "INSERT INTO document_file (message_uuid, document, file, length, sha256) VALUES ($1, $2, $3, $4, $5)", connection, transaction);
            file.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = key.MessageUuid });
            file.Parameters.Add(new NpgsqlParameter<int> { TypedValue = key.Document });
            file.Parameters.Add(new NpgsqlParameter<int> { TypedValue = key.File });
            file.Parameters.Add(new NpgsqlParameter<long> { TypedValue = length });
            file.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = Convert.FromHexString(sha256) });
            await file.ExecuteNonQueryAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            return new DocumentPut(length, sha256, DocumentPutOutcome.Stored);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            // A put of the same key committed while this one wrote: its document stands, and this one's rows go.
            await transaction.RollbackAsync(CancellationToken.None);
            length += await DocumentStreams.ReadToEnd(content, hash, cancellationToken);
            var stored = await Find(key, cancellationToken) ?? throw new InvalidOperationException($"Document {key} conflicted on a put but is not stored.");
            return DocumentStreams.Repeat(length, DocumentStreams.Hex(hash), stored);
        }
        finally { ArrayPool<byte>.Shared.Return(buffer); }
    }

    public async Task<Stream?> Open(DocumentKey key, CancellationToken cancellationToken = default)
    {
        // An empty document has no pieces: its file row tells it from an absent one.
        if (await Find(key, cancellationToken) is null) return null;
        var connection = await db.OpenConnectionAsync(cancellationToken);
        try
        {
            var command = new NpgsqlCommand(
                "SELECT data FROM document_chunk WHERE message_uuid = $1 AND document = $2 AND file = $3 ORDER BY chunk", connection);
            command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = key.MessageUuid });
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = key.Document });
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = key.File });
            var reader = await command.ExecuteReaderAsync(CommandBehavior.SequentialAccess, cancellationToken);
            return new RowsStream(connection, command, reader);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    public async Task<StoredDocument?> Find(DocumentKey key, CancellationToken cancellationToken = default)
    {
        await using var command = db.CreateCommand("SELECT length, sha256 FROM document_file WHERE message_uuid = $1 AND document = $2 AND file = $3");
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = key.MessageUuid });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = key.Document });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = key.File });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new StoredDocument(reader.GetInt64(0), Convert.ToHexStringLower(reader.GetFieldValue<byte[]>(1)))
            : null;
    }

    public async Task<int> Delete(Guid messageUuid, CancellationToken cancellationToken = default)
    {
        await using var command = db.CreateCommand("""
            WITH chunks AS (DELETE FROM document_chunk WHERE message_uuid = $1)
            DELETE FROM document_file WHERE message_uuid = $1
            """);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = messageUuid });
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<int> DeleteAll(IReadOnlyList<Guid> messageUuids)
    {
        await using var command = db.CreateCommand("""
            WITH chunks AS (DELETE FROM document_chunk WHERE message_uuid = ANY($1))
            DELETE FROM document_file WHERE message_uuid = ANY($1)
            """);
        command.Parameters.AddWithValue(messageUuids.ToArray());
        return await command.ExecuteNonQueryAsync();
    }

    /// <summary>The pieces' column, read from the connection as the consumer reads: one piece's stream at a time, never a
    /// piece as an array. Owns the connection until disposed.</summary>
    private sealed class RowsStream(NpgsqlConnection connection, NpgsqlCommand command, NpgsqlDataReader reader) : ReadOnlyStream
    {
        private Stream? _piece;

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            while (true)
            {
                if (_piece is null)
                {
                    if (!await reader.ReadAsync(cancellationToken)) return 0;
                    _piece = reader.GetStream(0);
                }
                var read = await _piece.ReadAsync(buffer, cancellationToken);
                if (read > 0 || buffer.Length == 0) return read;
                await _piece.DisposeAsync();
                _piece = null;
            }
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(Span<byte> buffer)
        {
            while (true)
            {
                if (_piece is null)
                {
                    if (!reader.Read()) return 0;
                    _piece = reader.GetStream(0);
                }
                var read = _piece.Read(buffer);
                if (read > 0 || buffer.Length == 0) return read;
                _piece.Dispose();
                _piece = null;
            }
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        // Asynchronously where the consumer can: a reader closed before its last piece reads the rest off the connection.
        public override async ValueTask DisposeAsync()
        {
            if (_piece is not null) await _piece.DisposeAsync();
            await reader.DisposeAsync();
            await command.DisposeAsync();
            await connection.DisposeAsync();
            GC.SuppressFinalize(this);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _piece?.Dispose();
                reader.Dispose();
                command.Dispose();
                connection.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
