using System.Text.Json;
using System.Text.Json.Serialization;

namespace DigitalPost.Contracts;

/// <summary>The JSON shape of the platform's HTTP API and of its pushes to receiver systems.</summary>
public static class PlatformJson
{
    public static readonly JsonSerializerOptions Options = Configure(new JsonSerializerOptions(JsonSerializerDefaults.Web));

    public static JsonSerializerOptions Configure(JsonSerializerOptions options)
    {
        options.Converters.Add(new DefinedEnumConverter());
        options.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
        return options;
    }
}

/// <summary>Enums as their names, and only names the enum defines: a number (<c>"channel": 99</c>) or a list of names
/// (<c>"PhysicalPost, NemSms"</c>, which the plain string converter combines into another value) is refused, so an
/// undefined value never reaches a rule that switches on it.</summary>
public sealed class DefinedEnumConverter : JsonConverterFactory
{
    private static readonly JsonStringEnumConverter Names = new(allowIntegerValues: false);

    public override bool CanConvert(Type typeToConvert) => typeToConvert.IsEnum;

    public override JsonConverter CreateConverter(Type typeToConvert, JsonSerializerOptions options) =>
        (JsonConverter)Activator.CreateInstance(typeof(Defined<>).MakeGenericType(typeToConvert), Names.CreateConverter(typeToConvert, options))!;

    private sealed class Defined<T>(JsonConverter names) : JsonConverter<T> where T : struct, Enum
    {
        private readonly JsonConverter<T> _names = (JsonConverter<T>)names;

        public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            if (reader.TokenType == JsonTokenType.String && reader.GetString()!.Contains(','))
                throw new JsonException($"A {typeof(T).Name} is one name, not a list of names.");
            return Check(_names.Read(ref reader, typeToConvert, options));
        }

        public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options) => _names.Write(writer, value, options);

        public override T ReadAsPropertyName(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            Check(_names.ReadAsPropertyName(ref reader, typeToConvert, options));

        public override void WriteAsPropertyName(Utf8JsonWriter writer, T value, JsonSerializerOptions options) =>
            _names.WriteAsPropertyName(writer, value, options);

        private static T Check(T value) =>
            Enum.IsDefined(value) ? value : throw new JsonException($"The value is not one of the names of {typeof(T).Name}: {string.Join(", ", Enum.GetNames<T>())}.");
    }
}

/// <summary>What the platform POSTs to a receiver system's endpoint. The system answers 2xx at once and posts its
/// business receipt later to the platform's <c>/api/receipts</c>.</summary>
public sealed record PushEnvelope(Guid MessageUuid, string ReceiverSystemId, int Attempt, Message Message);
