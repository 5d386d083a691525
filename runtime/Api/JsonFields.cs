using System.Text.Json;
using System.Text.Json.Nodes;

namespace LlmInfra.Runtime.Api;

/// <summary>Typed reads of optional fields inside request objects; a wrong type is a 400 naming the field.</summary>
public static class JsonFields
{
    public static string? OptionalString(JsonElement parent, string property, string field)
    {
        if (!parent.TryGetProperty(property, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind != JsonValueKind.String)
            throw new RequestValidationException($"{field} must be a string.", field);
        return RequestValidator.Text(value, field);
    }

    public static bool? OptionalBool(JsonElement parent, string property, string field)
    {
        if (!parent.TryGetProperty(property, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        return Bool(value, field);
    }

    public static bool Bool(JsonElement value, string field) => value.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => throw new RequestValidationException($"{field} must be a boolean.", field),
    };

    /// <summary>A copy of an object element as a mutable node; bad text inside (invalid UTF-8) is a 400 naming the field.</summary>
    public static JsonObject ToObject(JsonElement element, string field)
    {
        try
        {
            return JsonObject.Create(element.Clone())!.DeepClone().AsObject();
        }
        catch (InvalidOperationException)
        {
            throw new RequestValidationException(RequestValidator.InvalidText(field), field);
        }
    }
}
