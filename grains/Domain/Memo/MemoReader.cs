using System.Buffers;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Xml;
using DigitalPost.Contracts;
using DigitalPost.Domain.MassSending;
using DigitalPost.Infrastructure;

namespace DigitalPost.Domain.Memo;

/// <summary>Reads a MeMo 1.1 or 1.2 document as it streams in (<see cref="XmlReader"/>, never the whole document in
/// memory): each file's base64 content is decoded straight into a <see cref="MemoFileSink"/> (the document store), every
/// other value is read up to its length limit, and the result is the platform's <see cref="Message"/> with references
/// to the stored files, or the errors found, each naming its XML path. Elements MeMo has that the platform does not use
/// (attention data, representatives, KLE facets, FORM data, forward and reply details beyond their required parts)
/// are checked where NgDP requires them and otherwise passed over.</summary>
public sealed class MemoReader
{
    private static readonly XmlReaderSettings Settings = new()
    {
        Async = true,
        DtdProcessing = DtdProcessing.Prohibit,
        XmlResolver = null,
        IgnoreComments = true,
        IgnoreProcessingInstructions = true,
        IgnoreWhitespace = true,
        // Entities cannot expand (no DTD); this bounds character references' output all the same.
        MaxCharactersFromEntities = 1024,
    };

    private static readonly HashSet<string> Repeatable =
        ["File", "Action", "AdditionalDocument", "TechnicalDocument", "ContactInfo", "ReplyData", "AdditionalContentData", "AdditionalReplyData"];

    private readonly XmlReader _xml;
    private readonly MemoFileSink _sink;
    private readonly Guid? _expectedUuid;
    private readonly CancellationToken _cancellationToken;
    private readonly List<MemoError> _errors = [];
    private readonly List<string> _path = [];
    private Guid? _uuid;
    private string? _messageId;
    private DateTimeOffset? _created;
    private bool _contentWithoutUuid;

    private MemoReader(XmlReader xml, MemoFileSink sink, Guid? expectedUuid, CancellationToken cancellationToken) =>
        (_xml, _sink, _expectedUuid, _cancellationToken) = (xml, sink, expectedUuid, cancellationToken);

    /// <summary>Reads the document. <paramref name="expectedUuid"/>, when given (NgDP's <c>memo-message-uuid</c>), must
    /// be the document's <c>messageUUID</c>. Files are stored as they come, before the document is known to be valid:
    /// a caller that gets errors deletes what <paramref name="sink"/> stored.</summary>
    public static async Task<MemoRead> Read(Stream document, MemoFileSink sink, Guid? expectedUuid = null, CancellationToken cancellationToken = default)
    {
        var limited = new LimitedStream(document, Memo.MaxBytes);
        var reader = new MemoReader(XmlReader.Create(limited, Settings), sink, expectedUuid, cancellationToken);
        (Message? Message, string? Version) read = (null, null);
        try
        {
            read = await reader.ReadMessage();
        }
        catch (Exception e) when (e is MemoTooLargeException || e.InnerException is MemoTooLargeException)
        {
            return new MemoRead(null, reader._uuid, null, null, null, [new MemoError("/Message", MemoError.TooLarge,
                $"the document is more than {Memo.MaxBytes.ToString("N0", CultureInfo.InvariantCulture)} bytes (99.5 MB), the most Digital Post accepts")], limited.BytesRead);
        }
        catch (XmlException e)
        {
            // Not the parser's message: it quotes the input.
            reader.Error(reader.Here, MemoError.Malformed, $"is not well-formed XML, or not what MeMo allows here (line {e.LineNumber}, position {e.LinePosition})");
        }
        catch (FormatException)
        {
            reader.Error(reader.Here, MemoError.Invalid, "is not valid base64");
        }
        finally { reader._xml.Dispose(); }
        var errors = reader._errors;
        return new MemoRead(errors.Count == 0 ? read.Message : null, reader._uuid, read.Version, reader._messageId, reader._created, errors, limited.BytesRead);
    }

    private string Here => "/" + string.Join('/', _path);
    private string At(string child) => $"{Here}/{child}";

    private void Error(string path, string code, string message, string? rejected = null) =>
        _errors.Add(new MemoError(path, code, message, rejected is null ? null : Reject(rejected)));

    /// <summary>A value as an error may show it: CPR-shaped numbers masked, and short.</summary>
    private static string Reject(string value) => Cpr.Redact(value.Length > 100 ? value[..100] + "…" : value);

    private async Task<(Message?, string?)> ReadMessage()
    {
        await _xml.MoveToContentAsync();
        if (_xml.NodeType != XmlNodeType.Element || _xml.LocalName != "Message" || _xml.NamespaceURI != Memo.Namespace)
        {
            Error("/Message", MemoError.Invalid, $"the document's root must be the element Message in the namespace {Memo.Namespace}");
            return (null, null);
        }
        _path.Add("Message");
        var version = _xml.GetAttribute("memoVersion");
        if (version is null) Error(At("@memoVersion"), MemoError.Missing, "is missing; MeMo 1.1 and 1.2 are taken");
        else if (!Memo.Versions.Contains(version)) Error(At("@memoVersion"), MemoError.Unsupported, "is not a MeMo version taken here (1.1 or 1.2)", version);
        if (version == "1.1" && _xml.GetAttribute("memoSchVersion") is null) Error(At("@memoSchVersion"), MemoError.Missing, "is missing; MeMo 1.1 names its schema version (such as 1.1.0)");

        MessageHeader? header = null;
        MessageBody? body = null;
        var (sawHeader, sawBody) = (false, false);
        await Children(async (name, _) =>
        {
            switch (name)
            {
                case "MessageHeader": sawHeader = true; header = await ReadHeader(version); break;
                case "MessageBody": sawBody = true; body = await ReadBody(); break;
                default: await _xml.SkipAsync(); break;
            }
        });
        if (!sawHeader) Error(At("MessageHeader"), MemoError.Missing, "is missing");
        if (_contentWithoutUuid && _errors.Count == 0) Error(At("MessageBody"), MemoError.Invalid, "comes before the MessageHeader that names the message");
        if (header is { MessageType: MessageType.DigitalPost } && !sawBody)
            Error(At("MessageBody"), MemoError.Missing, "is missing; a DIGITALPOST message has a body");
        if (header is { MessageType: MessageType.NemSms } && !sawBody)
            Error(At("MessageBody"), MemoError.Unsupported, "is missing; the platform sends NemSMS messages that carry a body only");
        return (header is null || body is null ? null : new Message(header, body,
            header.MessageType == MessageType.NemSms ? DeliveryChannel.NemSms : DeliveryChannel.DigitalPost), version);
    }

    private async Task<MessageHeader?> ReadHeader(string? version)
    {
        string? messageType = null, uuid = null, label = null, notification = null, mandatory = null, legal = null, reply = null, replyBy = null, valoer = null;
        Sender? sender = null;
        Recipient? recipient = null;
        ContentData? content = null;
        var replies = new List<ReplyData>();
        bool sawSender = false, sawRecipient = false;
        var errorsBefore = _errors.Count;
        await Children(async (name, _) =>
        {
            switch (name)
            {
                case "messageType": messageType = await Text(Memo.MaxText); break;
                case "messageUUID": uuid = await Text(Memo.MaxText); break;
                case "messageID": _messageId = await Text(Memo.MaxText); break;
                case "label": label = await Text(Memo.MaxLabel); break;
                case "notification": notification = await Text(Memo.MaxNotification); break;
                case "mandatory": mandatory = await Text(Memo.MaxText); break;
                case "legalNotification": legal = await Text(Memo.MaxText); break;
                case "reply": reply = await Text(Memo.MaxText); break;
                case "replyByDateTime": replyBy = await Text(Memo.MaxText); break;
                case "doNotDeliverUntilDate": valoer = await Text(Memo.MaxText); break;
                case "Sender": sawSender = true; sender = await ReadSender(); break;
                case "Recipient": sawRecipient = true; recipient = await ReadRecipient(); break;
                case "ContentData": content = await ReadContentData(); break;
                case "ForwardData": await Required("messageUUID", "originalMessageDateTime", "originalSender"); break;
                case "ReplyData":
                    if (await ReadReplyData() is { } answered) replies.Add(new ReplyData(answered));
                    break;
                // messageCode, additionalNotification, postType and the like: MeMo's, not the platform's.
                default: await _xml.SkipAsync(); break;
            }
        });

        var type = messageType switch
        {
            "DIGITALPOST" => MessageType.DigitalPost,
            "NEMSMS" => MessageType.NemSms,
            null => Missing<MessageType?>("messageType"),
            _ => Invalid<MessageType?>("messageType", "is not DIGITALPOST or NEMSMS", messageType),
        };
        Guid? id = uuid is null ? Missing<Guid?>("messageUUID")
            : Guid.TryParse(uuid, out var parsed) && parsed != Guid.Empty ? parsed : Invalid<Guid?>("messageUUID", "is not a UUID", uuid);
        if (id is { } known && _expectedUuid is { } expected && known != expected)
            Error(At("messageUUID"), MemoError.Invalid, $"is not the memo-message-uuid the request names ({expected})", uuid);
        _uuid = id ?? _expectedUuid;
        if (label is null) Missing<string>("label");
        else if (label.Length == 0 && !_errors.Any(e => e.Path == At("label"))) Error(At("label"), MemoError.Missing, "is empty");
        var requiredFlags = version == "1.1";
        var isMandatory = Flag("mandatory", mandatory, requiredFlags);
        var isLegal = Flag("legalNotification", legal, requiredFlags);
        var isReply = Flag("reply", reply, required: false);
        var replyByDateTime = replyBy is null ? null : Time("replyByDateTime", replyBy);
        if (replyBy is not null && replyByDateTime is not null && !replyBy.EndsWith('Z'))
            Error(At("replyByDateTime"), MemoError.Invalid, "is not in UTC: it must end in Z", replyBy);
        var doNotDeliverUntil = valoer is null ? null : Date("doNotDeliverUntilDate", valoer);
        if (!sawSender) Missing<Sender>("Sender");
        if (!sawRecipient) Missing<Recipient>("Recipient");
        if (_errors.Count > errorsBefore || type is null || id is null || sender is null || recipient is null) return null;
        return new MessageHeader(id.Value, label!, sender, recipient, type.Value, notification, isMandatory, isLegal, isReply,
            replyByDateTime, doNotDeliverUntil, content, replies.Count > 0 ? replies : null);
    }

    private async Task<Sender?> ReadSender()
    {
        var errorsBefore = _errors.Count;
        var fields = await Fields(new() { ["senderID"] = Memo.MaxText, ["idType"] = Memo.MaxText, ["label"] = Memo.MaxLabel },
            async name =>
            {
                if (name != "ContactPoint") return false;
                await ReadContactPoint();
                return true;
            });
        Require(fields, "senderID", "idType", "label");
        if (fields.GetValueOrDefault("idType") is { } idType && idType != "CVR")
            Error(At("idType"), MemoError.Unsupported, "is not CVR; the platform's senders are authorities named by their CVR number", idType);
        else if (fields.GetValueOrDefault("senderID") is { } id && Cvr.Check(id) is not null)
            Error(At("senderID"), MemoError.Invalid, "is not a CVR number (8 digits, modulus 11)", id);
        return _errors.Count > errorsBefore ? null : new Sender(fields["senderID"]!, fields["label"]);
    }

    private async Task<Recipient?> ReadRecipient()
    {
        var errorsBefore = _errors.Count;
        string? contactPoint = null;
        var fields = await Fields(new() { ["recipientID"] = Memo.MaxText, ["idType"] = Memo.MaxText, ["label"] = Memo.MaxLabel },
            async name =>
            {
                if (name != "ContactPoint") return false;
                contactPoint = await ReadContactPoint();
                return true;
            });
        Require(fields, "recipientID", "idType");
        RecipientIdType? type = fields.GetValueOrDefault("idType") switch
        {
            "CPR" => RecipientIdType.Cpr,
            "CVR" => RecipientIdType.Cvr,
            null => null,
            var other => Invalid<RecipientIdType?>("idType", "is not CPR or CVR", other),
        };
        if (fields.GetValueOrDefault("recipientID") is { } id && type is { } kind)
        {
            // A CPR number is never echoed, not even a malformed one: it may be most of a real number.
            if (kind == RecipientIdType.Cpr && Cpr.Check(id) is { IsValid: false, Error: var error })
                Error(At("recipientID"), MemoError.Invalid, $"is not a CPR number: {error}");
            if (kind == RecipientIdType.Cvr && Cvr.Check(id) is not null)
                Error(At("recipientID"), MemoError.Invalid, "is not a CVR number (8 digits, modulus 11)", id);
        }
        return _errors.Count > errorsBefore || type is null
            ? null
            : new Recipient(type == RecipientIdType.Cpr ? Cpr.Normalise(fields["recipientID"]!) : fields["recipientID"]!, type.Value, contactPoint, fields.GetValueOrDefault("label"));
    }

    private async Task<string?> ReadContactPoint()
    {
        var infos = 0;
        var fields = await Fields(new() { ["contactPointID"] = Memo.MaxText }, async name =>
        {
            if (name != "ContactInfo") return false;
            if (++infos == Memo.MaxContactInfo + 1) Error(Here, MemoError.TooMany, $"a contact point has at most {Memo.MaxContactInfo} ContactInfo");
            await _xml.SkipAsync();
            return true;
        });
        Require(fields, "contactPointID");
        return fields.GetValueOrDefault("contactPointID");
    }

    private async Task<ContentData?> ReadContentData()
    {
        string? caseId = null, kle = null;
        var additional = 0;
        await Children(async (name, index) =>
        {
            switch (name)
            {
                case "CaseID":
                    var fields = await Fields(new() { ["caseID"] = Memo.MaxText, ["caseSystem"] = Memo.MaxText });
                    Require(fields, "caseID");
                    caseId = fields.GetValueOrDefault("caseID");
                    break;
                case "KLEdata":
                    kle = (await Fields(new() { ["subjectKey"] = Memo.MaxText })).GetValueOrDefault("subjectKey");
                    break;
                case "AdditionalContentData":
                    additional = index;
                    if (index == Memo.MaxAdditionalContentData + 1)
                        Error(Here, MemoError.TooMany, $"a message has at most {Memo.MaxAdditionalContentData} AdditionalContentData");
                    await _xml.SkipAsync();
                    break;
                default: await _xml.SkipAsync(); break;
            }
        });
        return caseId is null && kle is null ? null : new ContentData(caseId, kle);
    }

    /// <summary>The letter a reply answers; null (with an error) when its messageUUID is missing or not a UUID.</summary>
    private async Task<Guid?> ReadReplyData()
    {
        var fields = await Fields(new() { ["messageUUID"] = Memo.MaxText }, async name =>
        {
            if (name != "AdditionalReplyData") return false;
            await _xml.SkipAsync();
            return true;
        }, countRepeats: ("AdditionalReplyData", Memo.MaxAdditionalReplyData));
        Require(fields, "messageUUID");
        return fields.GetValueOrDefault("messageUUID") is not { } uuid ? null
            : Guid.TryParse(uuid, out var answered) ? answered : Invalid<Guid?>("messageUUID", "is not a UUID", uuid);
    }

    private async Task Required(params string[] names)
    {
        var fields = await Fields(names.ToDictionary(n => n, _ => Memo.MaxText));
        Require(fields, names);
    }

    private async Task<MessageBody?> ReadBody()
    {
        var errorsBefore = _errors.Count;
        string? created = null;
        Document? main = null;
        var additional = new List<Document>();
        var technical = new List<Document>();
        var sawMain = false;
        // MeMo's order (main, additional, technical) is the documents' place in the store.
        var stage = 0;
        var document = 0;
        await Children(async (name, _) =>
        {
            var order = name switch { "MainDocument" => 1, "AdditionalDocument" => 2, "TechnicalDocument" => 3, _ => 0 };
            if (order > 0 && (order < stage || (order == 1 && sawMain)))
            {
                Error(Here, MemoError.Invalid, "is out of place: a body has one MainDocument, then its AdditionalDocuments, then its TechnicalDocuments");
                await _xml.SkipAsync();
                return;
            }
            stage = Math.Max(stage, order);
            switch (name)
            {
                case "createdDateTime": created = await Text(Memo.MaxText); break;
                case "MainDocument": sawMain = true; main = await ReadDocument(document++); break;
                case "AdditionalDocument": if (await ReadDocument(document++) is { } a) additional.Add(a); break;
                case "TechnicalDocument": if (await ReadDocument(document++) is { } t) technical.Add(t); break;
                default: await _xml.SkipAsync(); break;
            }
        });
        if (created is null) Missing<string>("createdDateTime");
        else _created = Time("createdDateTime", created);
        if (!sawMain) Missing<Document>("MainDocument");
        return _errors.Count > errorsBefore || main is null ? null
            : new MessageBody(main, additional.Count > 0 ? additional : null, technical.Count > 0 ? technical : null);
    }

    private async Task<Document?> ReadDocument(int document)
    {
        var errorsBefore = _errors.Count;
        string? label = null;
        var files = new List<DocumentFile>();
        var actions = new List<DocumentAction>();
        var sawFile = false;
        await Children(async (name, _) =>
        {
            switch (name)
            {
                case "label": label = await Text(Memo.MaxLabel); break;
                case "File":
                    sawFile = true;
                    if (await ReadFile(new DocumentKey(_uuid ?? Guid.Empty, document, files.Count)) is { } file) files.Add(file); break;
                case "Action": if (await ReadAction() is { } action) actions.Add(action); break;
                default: await _xml.SkipAsync(); break;
            }
        });
        if (!sawFile) Error(At("File"), MemoError.Missing, "is missing; a document has at least one File");
        return _errors.Count > errorsBefore ? null : new Document(label ?? "", files, actions.Count > 0 ? actions : null);
    }

    private async Task<DocumentFile?> ReadFile(DocumentKey key)
    {
        var errorsBefore = _errors.Count;
        (long Length, string Sha256)? stored = null;
        var fields = await Fields(new() { ["encodingFormat"] = Memo.MaxText, ["filename"] = Memo.MaxLabel, ["language"] = Memo.MaxText, ["inLanguage"] = Memo.MaxText },
            async name =>
            {
                if (name != "content") return false;
                if (stored is not null)
                {
                    Error(Here, MemoError.Invalid, "appears twice");
                    await _xml.SkipAsync();
                    return true;
                }
                await using (var content = new Base64Content(_xml, _cancellationToken))
                {
                    if (_uuid is { } uuid) stored = await _sink(key with { MessageUuid = uuid }, content, _cancellationToken);
                    else
                    {
                        // Without a messageUUID there is no key to store under, and no message to come of it: the bytes are
                        // read through (still checked as base64) and the document refused.
                        _contentWithoutUuid = true;
                        stored = (await DocumentStreams.ReadToEnd(content, null, _cancellationToken), "");
                    }
                    await content.Drain();
                }
                return true;
            });
        Require(fields, "encodingFormat", "filename");
        // MeMo's schema calls it inLanguage; either name is taken, and the platform writes language.
        var language = fields.GetValueOrDefault("language") ?? fields.GetValueOrDefault("inLanguage");
        if (language is null) Missing<string>("language");
        else if (language.Length != 2 || !language.All(char.IsAsciiLetterLower)) Error(At("language"), MemoError.Invalid, "is not a two-letter language code (such as da)", language);
        if (stored is null && _errors.Count == errorsBefore) Missing<string>("content");
        else if (stored is { Length: 0 }) Error(At("content"), MemoError.Missing, "is empty");
        return _errors.Count > errorsBefore || _uuid is null ? null : new DocumentFile(fields["filename"]!, fields["encodingFormat"]!, [], language!,
            (key with { MessageUuid = _uuid!.Value }).ToLocation(), stored!.Value.Length, stored.Value.Sha256);
    }

    private async Task<DocumentAction?> ReadAction()
    {
        var errorsBefore = _errors.Count;
        string? url = null, reservation = null;
        bool sawEntry = false, sawReservation = false;
        var fields = await Fields(new() { ["label"] = Memo.MaxLabel, ["actionCode"] = Memo.MaxText, ["startDateTime"] = Memo.MaxText, ["endDateTime"] = Memo.MaxText },
            async name =>
            {
                switch (name)
                {
                    case "EntryPoint":
                        sawEntry = true;
                        var entry = await Fields(new() { ["url"] = Memo.MaxText });
                        Require(entry, "url");
                        url = entry.GetValueOrDefault("url");
                        if (url is not null && !Uri.TryCreate(url, UriKind.Absolute, out _)) Error(At("url"), MemoError.Invalid, "is not an absolute URL", url);
                        return true;
                    case "Reservation":
                        sawReservation = true;
                        var booking = await Fields(new() { ["description"] = Memo.MaxText, ["reservationUUID"] = Memo.MaxText, ["abstract"] = Memo.MaxText,
                            ["location"] = Memo.MaxText, ["startDateTime"] = Memo.MaxText, ["endDateTime"] = Memo.MaxText });
                        Require(booking, "description");
                        reservation = booking.GetValueOrDefault("description");
                        return true;
                    default: return false;
                }
            });
        Require(fields, "label", "actionCode");
        var code = fields.GetValueOrDefault("actionCode") is { } name ? Memo.ActionCodeOf(name) : null;
        if (fields.GetValueOrDefault("actionCode") is { } given && code is null)
            Error(At("actionCode"), MemoError.Invalid, $"is not one of {string.Join(", ", Enum.GetValues<ActionCode>().Select(Memo.ActionCodeName))}", given);
        if (!sawEntry && !sawReservation) Error(At("EntryPoint"), MemoError.Missing, "is missing; an action has an EntryPoint or a Reservation");
        var start = fields.GetValueOrDefault("startDateTime") is { } s ? Time("startDateTime", s) : null;
        var end = fields.GetValueOrDefault("endDateTime") is { } e ? Time("endDateTime", e) : null;
        if (start is { } from && end is { } to && to < from) Error(At("endDateTime"), MemoError.Invalid, "is before startDateTime");
        return _errors.Count > errorsBefore ? null
            : new DocumentAction(code!.Value, fields["label"]!, url is null ? null : new Uri(url), reservation, start, end);
    }

    /// <summary>Reads the current element's children: <paramref name="leaves"/> as text up to their length limits, the
    /// ones <paramref name="complex"/> takes (it answers whether it read the element), and passes over the rest.</summary>
    private async Task<Dictionary<string, string?>> Fields(Dictionary<string, int> leaves, Func<string, Task<bool>?>? complex = null,
        (string Name, int Max)? countRepeats = null)
    {
        var values = new Dictionary<string, string?>();
        await Children(async (name, index) =>
        {
            if (countRepeats is { } repeat && name == repeat.Name && index == repeat.Max + 1)
                Error(Here, MemoError.TooMany, $"at most {repeat.Max} {repeat.Name} are allowed here");
            if (leaves.TryGetValue(name, out var max))
            {
                if (values.ContainsKey(name)) Error(Here, MemoError.Invalid, "appears twice");
                values[name] = await Text(max);
            }
            else if (complex?.Invoke(name) is not { } task || !await task) await _xml.SkipAsync();
        });
        return values;
    }

    private void Require(Dictionary<string, string?> fields, params string[] names)
    {
        foreach (var name in names)
            if (!fields.ContainsKey(name)) Error(At(name), MemoError.Missing, "is missing");
            else if (string.IsNullOrEmpty(fields[name]) && !_errors.Any(e => e.Path == At(name))) Error(At(name), MemoError.Missing, "is empty");
    }

    /// <summary>Walks the current element's child elements, with the reader on each child's start tag and the child's
    /// name on the path; each callback reads its element through. Text where elements belong is an error.</summary>
    private async Task Children(Func<string, int, Task> child)
    {
        if (_xml.IsEmptyElement)
        {
            await _xml.ReadAsync();
            return;
        }
        await _xml.ReadAsync();
        var counts = new Dictionary<string, int>();
        while (true)
        {
            _cancellationToken.ThrowIfCancellationRequested();
            await _xml.MoveToContentAsync();
            switch (_xml.NodeType)
            {
                case XmlNodeType.EndElement:
                    await _xml.ReadAsync();
                    return;
                case XmlNodeType.Element:
                    var name = _xml.LocalName;
                    var index = counts[name] = counts.GetValueOrDefault(name) + 1;
                    _path.Add(Repeatable.Contains(name) ? $"{name}[{index}]" : name);
                    if (_xml.NamespaceURI != Memo.Namespace)
                    {
                        Error(Here, MemoError.Invalid, $"is not in MeMo's namespace {Memo.Namespace}");
                        await _xml.SkipAsync();
                    }
                    else await child(name, index);
                    _path.RemoveAt(_path.Count - 1);
                    break;
                case XmlNodeType.None:
                    throw new XmlException("The document ends inside an element.");
                default:
                    Error(Here, MemoError.Invalid, "holds text where only elements belong");
                    await _xml.SkipAsync();
                    break;
            }
        }
    }

    /// <summary>The current element's text, trimmed, read a chunk at a time and kept only up to
    /// <paramref name="max"/> characters; null (and an error) when it is longer or holds elements.</summary>
    private async Task<string?> Text(int max)
    {
        if (_xml.IsEmptyElement)
        {
            await _xml.ReadAsync();
            return "";
        }
        var text = new StringBuilder();
        var (tooLong, nested) = (false, false);
        var buffer = ArrayPool<char>.Shared.Rent(4096);
        try
        {
            await _xml.ReadAsync();
            while (_xml.NodeType != XmlNodeType.EndElement)
            {
                switch (_xml.NodeType)
                {
                    case XmlNodeType.Text or XmlNodeType.CDATA or XmlNodeType.Whitespace or XmlNodeType.SignificantWhitespace:
                        int read;
                        while ((read = await _xml.ReadValueChunkAsync(buffer, 0, buffer.Length)) > 0)
                            if (!tooLong && text.Length + read <= max + 64) text.Append(buffer, 0, read);
                            else tooLong = true;
                        await _xml.ReadAsync();
                        break;
                    case XmlNodeType.Element:
                        nested = true;
                        await _xml.SkipAsync();
                        break;
                    case XmlNodeType.None:
                        throw new XmlException("The document ends inside an element.");
                    default:
                        await _xml.ReadAsync();
                        break;
                }
            }
            await _xml.ReadAsync();
        }
        finally { ArrayPool<char>.Shared.Return(buffer); }
        var value = text.ToString().Trim();
        if (nested) Error(Here, MemoError.Invalid, "holds elements where only text belongs");
        else if (tooLong || value.Length > max) Error(Here, MemoError.TooLong, $"is longer than {max.ToString("N0", CultureInfo.InvariantCulture)} characters");
        else return value;
        return null;
    }

    private T? Missing<T>(string child)
    {
        if (!_errors.Any(e => e.Path == At(child))) Error(At(child), MemoError.Missing, "is missing");
        return default;
    }

    private T? Invalid<T>(string child, string message, string value)
    {
        Error(At(child), MemoError.Invalid, message, value);
        return default;
    }

    private bool Flag(string child, string? value, bool required)
    {
        switch (value)
        {
            case "true" or "1": return true;
            case "false" or "0": return false;
            case null:
                if (required) Missing<bool>(child);
                return false;
            default:
                if (!_errors.Any(e => e.Path == At(child))) Invalid<bool>(child, "is not a boolean (true or false)", value);
                return false;
        }
    }

    private DateTimeOffset? Time(string child, string value) =>
        DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var time)
        && value.Contains('T') ? time : Invalid<DateTimeOffset?>(child, "is not a date and time (ISO 8601, such as 2026-03-01T12:00:00Z)", value);

    private DateTimeOffset? Date(string child, string value) =>
        DateOnly.TryParseExact(value, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date)
            ? new DateTimeOffset(date.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero)
            : Invalid<DateTimeOffset?>(child, "is not a date (yyyy-MM-dd)", value);

    /// <summary>A <c>content</c> element's decoded bytes, read from the XML as they are consumed.</summary>
    private sealed class Base64Content(XmlReader xml, CancellationToken cancellationToken) : ReadOnlyStream
    {
        private bool _done;

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken token = default)
        {
            if (_done || buffer.Length == 0) return 0;
            if (MemoryMarshal.TryGetArray<byte>(buffer, out var segment)) return Got(await xml.ReadElementContentAsBase64Async(segment.Array!, segment.Offset, segment.Count));
            var rented = ArrayPool<byte>.Shared.Rent(buffer.Length);
            try
            {
                var read = Got(await xml.ReadElementContentAsBase64Async(rented, 0, buffer.Length));
                rented.AsSpan(0, read).CopyTo(buffer.Span);
                return read;
            }
            finally { ArrayPool<byte>.Shared.Return(rented); }
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken token) =>
            ReadAsync(buffer.AsMemory(offset, count), token).AsTask();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("The content is read asynchronously.");

        private int Got(int read)
        {
            cancellationToken.ThrowIfCancellationRequested();
            _done = read == 0;
            return read;
        }

        /// <summary>Reads past what the sink left unread, so the reader is after the element.</summary>
        public async Task Drain()
        {
            var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
            try { while (await ReadAsync(buffer.AsMemory(), cancellationToken) > 0) { } }
            finally { ArrayPool<byte>.Shared.Return(buffer); }
        }
    }
}
