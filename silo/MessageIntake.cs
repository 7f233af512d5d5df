using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using DigitalPost.Contracts;
using DigitalPost.Domain;
using DigitalPost.Infrastructure;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace DigitalPost.Silo;

/// <summary>Takes a message in (<c>POST /api/messages</c>): its files go into the document store as they arrive, and
/// the message goes to its grain with references only, so no grain state, grain call or push holds a whole document.
/// JSON carries the files as base64 and is parsed in memory; <c>multipart/form-data</c> carries the message (the same
/// JSON without contents) in a first part <c>message</c> and then each file in a part named by its place,
/// <c>documents/{d}/files/{f}</c>, streamed straight into the store: the way in for large messages.</summary>
/// <summary>What one face of message intake adds to the common rules: checks before anything is stored, and a step once
/// the message is accepted (also when it is accepted again, so that the step is finished after a lost answer).</summary>
public interface IMessageAdmission
{
    /// <summary>Null for a message this face takes; else the answer that refuses it (or a <see cref="ValidationException"/>).</summary>
    Task<IResult?> Admit(Message message);

    Task Accepted(Message message);
}

/// <summary>Authorities' post (<c>POST /api/messages</c>): a sender system sends only as its own authority, by its CVR.
/// An accepted message is recorded under its sender system, whose retention period it then has, and its recipient.</summary>
public sealed class AuthorityPost(AuthenticatedSender sender, ISingleMessageStore singles, TimeProvider time) : IMessageAdmission
{
    public Task<IResult?> Admit(Message message)
    {
        if (message.Header.Sender.IdType != RecipientIdType.Cvr)
            throw new ValidationException([new("header.sender.idType", "an authority sends as its CVR; citizens and companies write through /api/incoming/messages")]);
        return Task.FromResult(message.Header.Sender.SenderId == sender.Cvr ? null : Results.Problem(statusCode: StatusCodes.Status403Forbidden,
            title: "A sender system sends only as its own authority",
            detail: $"header.sender.senderId is {message.Header.Sender.SenderId}; this sender system sends for {sender.Cvr}."));
    }

    public Task Accepted(Message message) =>
        singles.Record(new SingleMessage(message.Header.MessageUuid, sender.Id, message.Header.Recipient.RecipientId, time.GetUtcNow()));
}

public sealed partial class MessageIntake(IGrainFactory grains, IDocumentStore documents, TimeProvider time, IOptions<ResendFlowOptions> options)
{
    /// <summary>The largest request taken: Digital Post's 99.5 MB, counted as the request's bytes.</summary>
    public const long MaxRequestBytes = MessageRules.MaxMessageBytes;

    public async Task<IResult> Submit(HttpRequest request, IMessageAdmission admission, CancellationToken cancellationToken)
    {
        // Refused before a byte of the body is read: a client that sent "Expect: 100-continue" never sends it.
        if (request.ContentLength is { } size && size > MaxRequestBytes) return TooLarge(size);
        var parts = Multipart(request);
        if (parts is null && !request.HasJsonContentType())
            return Results.Problem(statusCode: StatusCodes.Status415UnsupportedMediaType, title: "A message is sent as application/json or as multipart/form-data");

        Message? message = null;
        // Whether this intake left anything in the store that a message that is not accepted must not keep.
        var leftInStore = false;
        try
        {
            message = parts is null ? await ReadJson(request.Body, "body", cancellationToken) : await ReadMessagePart(parts, cancellationToken);
            var errors = MessageRules.Validate(message, time.GetUtcNow(), options.Value);
            if (errors.Count > 0) throw new ValidationException(errors);
            if (await admission.Admit(message) is { } refused) return refused;
            // References are the platform's to set: whatever a sender wrote in their place is dropped.
            message = MessageDocuments.MapFiles(message, (_, file) => file with { Content = file.Content ?? [], Length = null, Sha256 = null });
            var uuid = message.Header.MessageUuid;

            var files = MessageDocuments.Files(message).ToDictionary(f => f.Key, f => f.File);
            var references = new Dictionary<DocumentKey, DocumentFile>();
            async Task Store(DocumentKey key, Stream content)
            {
                var put = await documents.Put(key, content, cancellationToken);
                leftInStore |= put.Outcome != DocumentPutOutcome.AlreadyStored;
                references[key] = files[key] with { Content = [], Location = key.ToLocation(), Length = put.Length, Sha256 = put.Sha256 };
            }

            foreach (var (key, file) in files.Where(f => f.Value.Content.Length > 0))
                await Store(key, new MemoryStream(file.Content, writable: false));
            if (parts is not null)
            {
                var awaiting = files.Where(f => f.Value.Content.Length == 0 && f.Value.Location is null).Select(f => f.Key).ToHashSet();
                while (await parts.ReadNextSectionAsync(cancellationToken) is { } section)
                {
                    var name = section.GetContentDispositionHeader()?.Name.Value?.Trim('"') ?? "";
                    if (KeyOf(uuid, name) is not { } key || !awaiting.Remove(key))
                        throw Invalid(name.Length == 0 ? "body" : name, "is not a file of the message that waits for its bytes (parts are named documents/{d}/files/{f}, each once)");
                    await Store(key, section.Body);
                }
                if (awaiting.Count > 0)
                    throw new ValidationException([.. awaiting.OrderBy(k => k.Document).ThenBy(k => k.File).Select(k => new ValidationError(
                        $"{MessageDocuments.PathOf(message.Body, k.Document)}.files[{k.File}]", $"has no content: send it in the part {k.PartName()}"))]);
            }

            var result = await grains.GetGrain<IMessageGrain>(uuid).Submit(MessageDocuments.MapFiles(message, (key, file) => references.GetValueOrDefault(key, file)));
            if (result.Outcome != SubmitOutcome.Accepted && leftInStore) await Discard(message);
            // A repeat of an accepted message completes what its first intake may not have finished.
            if (result.Outcome is SubmitOutcome.Accepted or SubmitOutcome.Duplicate) await admission.Accepted(message);
            return result.Outcome switch
            {
                SubmitOutcome.Accepted => Results.Accepted($"/api/messages/{result.MessageUuid}", result),
                SubmitOutcome.Duplicate => Results.Ok(result),
                _ => Results.Conflict(result),
            };
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            // A body without a Content-Length is cut off by the server's limit as it arrives.
            if (leftInStore) await Discard(message!);
            return TooLarge(size: null);
        }
        catch (Exception e) when (Problems.IsMalformedMultipart(e))
        {
            if (leftInStore) await Discard(message!);
            throw Problems.MalformedMultipart();
        }
        catch
        {
            if (leftInStore) await Discard(message!);
            throw;
        }
    }

    private Task Discard(Message message) => grains.GetGrain<IMessageGrain>(message.Header.MessageUuid).DiscardDocuments();

    private static MultipartReader? Multipart(HttpRequest request)
    {
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var type) || !type.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase))
            return null;
        var boundary = HeaderUtilities.RemoveQuotes(type.Boundary).Value;
        // RFC 2046: 1 to 70 characters; a longer one the reader would take, and search a body for in vain.
        if (boundary is not { Length: > 0 and <= 70 }) throw Invalid("body", "needs a multipart boundary of 1 to 70 characters");
        return new MultipartReader(boundary, request.Body);
    }

    private static async Task<Message> ReadMessagePart(MultipartReader parts, CancellationToken cancellationToken)
    {
        var first = await parts.ReadNextSectionAsync(cancellationToken);
        if (first?.GetContentDispositionHeader()?.Name.Value?.Trim('"') != "message")
            throw Invalid("message", "the first part must be the message, as JSON (its files' contents follow in parts of their own)");
        return await ReadJson(first.Body, "message", cancellationToken);
    }

    private static async Task<Message> ReadJson(Stream json, string field, CancellationToken cancellationToken)
    {
        try
        {
            return await JsonSerializer.DeserializeAsync<Message>(json, PlatformJson.Options, cancellationToken) ?? throw Invalid(field, "is empty");
        }
        catch (JsonException e)
        {
            // Not the parser's message: it quotes the input, which may be personal data.
            throw Invalid(field, Problems.WhereJsonFails(e));
        }
    }

    private static DocumentKey? KeyOf(Guid messageUuid, string partName) =>
        PartName().Match(partName) is { Success: true } match
        && int.TryParse(match.Groups[1].ValueSpan, CultureInfo.InvariantCulture, out var document)
        && int.TryParse(match.Groups[2].ValueSpan, CultureInfo.InvariantCulture, out var file)
            ? new DocumentKey(messageUuid, document, file)
            : null;

    private static IResult TooLarge(long? size)
    {
        var limit = MaxRequestBytes.ToString("N0", CultureInfo.InvariantCulture);
        return Results.Problem(
            statusCode: StatusCodes.Status413PayloadTooLarge,
            title: "The message is larger than Digital Post accepts",
            detail: size is { } bytes
                ? $"The request is {bytes.ToString("N0", CultureInfo.InvariantCulture)} bytes; at most {limit} bytes (99.5 MB) are accepted."
                : $"The request is more than {limit} bytes (99.5 MB), the most that is accepted.",
            extensions: new Dictionary<string, object?> { ["size"] = size, ["limit"] = MaxRequestBytes });
    }

    private static ValidationException Invalid(string field, string reason) => new([new ValidationError(field, reason)]);

    [GeneratedRegex(@"^documents/(\d+)/files/(\d+)$")]
    private static partial Regex PartName();
}
