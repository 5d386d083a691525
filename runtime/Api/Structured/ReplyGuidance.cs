using System.Text;
using System.Text.Json.Nodes;
using LlmInfra.Engine;
using LlmInfra.Runtime.Api.Tools;

namespace LlmInfra.Runtime.Api.Structured;

/// <summary>
/// Builds the guidance (GenAI's llguidance) that makes the reply fit response_format and the tool choice:
/// a JSON schema for structured replies, a Lark grammar when tools may be called. Tool calls are written as a
/// JSON array, [{"name":"f","arguments":{...}}], each function's arguments constrained by its own schema.
/// </summary>
public static class ReplyGuidance
{
    /// <summary>
    /// Compact JSON: no free whitespace between tokens. Besides saving tokens, this keeps a model from looping on
    /// blanks inside a constrained reply (a known failure of flexible-whitespace JSON grammars).
    /// </summary>
    private static JsonObject Compact() => new() { ["whitespace_flexible"] = false };

    /// <summary>The guidance and the request field it comes from (named when the native side refuses it); null for none.</summary>
    public static (Guidance? Guidance, string? Field) Build(ResponseFormatSpec format, ToolSet? tools)
    {
        var callable = tools?.Callable ?? [];
        if (callable.Count == 0)
        {
            return format.Schema is { } schema
                ? (new Guidance(GuidanceKind.JsonSchema, Prepared(schema).ToJsonString()), ResponseFormatRequest.Field)
                : (null, null);
        }

        var lark = new StringBuilder();
        if (tools!.Mode == ToolChoiceMode.Auto)
        {
            lark.Append("start: reply | calls\n");
            // A text reply may not start with '[', the opening of a call list: that is how the two are told apart.
            lark.Append(format.Schema is { } schema ? $"reply: %json {Prepared(schema).ToJsonString()}\n" : "reply: TEXT\nTEXT: /[^\\[](.|\\n)*/\n");
        }
        else
        {
            lark.Append("start: calls\n");
        }
        var single = !tools.Parallel || tools.Mode == ToolChoiceMode.Named;
        lark.Append(single ? "calls: \"[\" call \"]\"\n" : "calls: \"[\" call (\",\" call)* \"]\"\n");
        lark.Append("call: ").AppendJoin(" | ", callable.Select((_, i) => $"fn_{i}")).Append('\n');
        for (var i = 0; i < callable.Count; i++)
        {
            // Names are [a-zA-Z0-9_-]{1,64} (checked on input): safe inside a Lark string literal as they are.
            lark.Append($"fn_{i}: \"{{\\\"name\\\":\\\"{callable[i].Name}\\\",\\\"arguments\\\":\" args_{i} \"}}\"\n");
            lark.Append($"args_{i}: %json {Prepared(callable[i].Parameters).ToJsonString()}\n");
        }
        return (new Guidance(GuidanceKind.LarkGrammar, lark.ToString()), ToolRequest.ToolsField);
    }

    /// <summary>The schema with the server's JSON layout options, unless the client set its own x-guidance.</summary>
    public static JsonObject Prepared(JsonObject schema)
    {
        var copy = schema.DeepClone().AsObject();
        if (!copy.ContainsKey("x-guidance")) copy["x-guidance"] = Compact();
        return copy;
    }
}
