using System.Text.Json;
using System.Text.Json.Serialization;

namespace DigitalPost.Contracts;

/// <summary>The JSON shape of the platform's HTTP API and of its pushes to receiver systems.</summary>
public static class PlatformJson
{
    public static readonly JsonSerializerOptions Options = Configure(new JsonSerializerOptions(JsonSerializerDefaults.Web));

    public static JsonSerializerOptions Configure(JsonSerializerOptions options)
    {
        options.Converters.Add(new JsonStringEnumConverter());
        options.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
        return options;
    }
}

/// <summary>What the platform POSTs to a receiver system's endpoint. The system answers 2xx at once and posts its
/// business receipt later to the platform's <c>/api/receipts</c>.</summary>
public sealed record PushEnvelope(Guid MessageUuid, string ReceiverSystemId, int Attempt, Message Message);
