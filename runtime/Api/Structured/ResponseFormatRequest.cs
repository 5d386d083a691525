using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace LlmInfra.Runtime.Api.Structured;

/// <summary>What the reply must look like: free text, any JSON object, or JSON valid against a schema.</summary>
public enum ReplyKind
{
    Text,
    JsonObject,
    JsonSchema,
}

/// <summary>A validated response_format. <see cref="Schema"/> is the JSON schema to enforce (null for text).</summary>
public sealed record ResponseFormatSpec(ReplyKind Kind, JsonObject? Schema, string? Name)
{
    public static ResponseFormatSpec Text { get; } = new(ReplyKind.Text, null, null);
}

/// <summary>Reads OpenAI's response_format; errors name the field. The schema itself is compiled by GenAI's guidance.</summary>
public static partial class ResponseFormatRequest
{
    public const string Field = "response_format";

    public static ResponseFormatSpec Parse(JsonElement? format)
    {
        if (format is not { } f || f.ValueKind == JsonValueKind.Null)
            return ResponseFormatSpec.Text;
        if (f.ValueKind != JsonValueKind.Object)
            throw new RequestValidationException("response_format must be an object such as {\"type\":\"json_object\"}.", Field);
        var type = JsonFields.OptionalString(f, "type", $"{Field}.type")
            ?? throw new RequestValidationException("response_format.type is required: one of text, json_object, json_schema.", $"{Field}.type");
        switch (type)
        {
            case "text":
                return ResponseFormatSpec.Text;
            case "json_object":
                return new ResponseFormatSpec(ReplyKind.JsonObject, new JsonObject { ["type"] = "object" }, null);
            case "json_schema":
                const string spec = Field + ".json_schema";
                if (!f.TryGetProperty("json_schema", out var js) || js.ValueKind != JsonValueKind.Object)
                    throw new RequestValidationException("response_format.json_schema must be an object with a name and a schema.", spec);
                var name = JsonFields.OptionalString(js, "name", $"{spec}.name");
                if (name is null || !NamePattern().IsMatch(name))
                    throw new RequestValidationException(
                        "response_format.json_schema.name is required: 1 to 64 letters, digits, underscores or dashes.", $"{spec}.name");
                JsonFields.OptionalBool(js, "strict", $"{spec}.strict");
                if (!js.TryGetProperty("schema", out var schema) || schema.ValueKind == JsonValueKind.Null)
                    throw new RequestValidationException("response_format.json_schema.schema is required.", $"{spec}.schema");
                if (schema.ValueKind != JsonValueKind.Object)
                    throw new RequestValidationException("response_format.json_schema.schema must be a JSON schema object.", $"{spec}.schema");
                return new ResponseFormatSpec(ReplyKind.JsonSchema, JsonFields.ToObject(schema, $"{spec}.schema"), name);
            default:
                throw new RequestValidationException($"response_format.type '{type}' is not supported: use text, json_object or json_schema.", $"{Field}.type");
        }
    }

    /// <summary>OpenAI's rule for schema and function names.</summary>
    [GeneratedRegex("^[a-zA-Z0-9_-]{1,64}$")]
    internal static partial Regex NamePattern();
}
