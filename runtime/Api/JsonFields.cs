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

    /// <summary>
    /// A copy of an object element as a mutable node. Every name and string inside is decoded first: one that is not
    /// text (invalid UTF-8, an unpaired surrogate escape) is a 400 naming the field, not a failure when it is written.
    /// </summary>
    public static JsonObject ToObject(JsonElement element, string field)
    {
        CheckText(element, field);
        return JsonObject.Create(element.Clone())!.DeepClone().AsObject();
    }

    private static void CheckText(JsonElement element, string field)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                RequestValidator.Text(element, field);
                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray()) CheckText(item, field);
                break;
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    try
                    {
                        _ = property.Name;
                    }
                    catch (InvalidOperationException)
                    {
                        throw new RequestValidationException(RequestValidator.InvalidText(field), field);
                    }
                    CheckText(property.Value, field);
                }
                break;
        }
    }
}
