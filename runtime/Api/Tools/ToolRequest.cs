using System.Text.Json;
using System.Text.Json.Nodes;
using LlmInfra.Runtime.Api.Structured;

namespace LlmInfra.Runtime.Api.Tools;

/// <summary>How the model may use the tools: OpenAI's tool_choice.</summary>
public enum ToolChoiceMode
{
    /// <summary>Tools are shown to the model, never called.</summary>
    None,

    /// <summary>The model answers in text or calls tools.</summary>
    Auto,

    /// <summary>The model calls one or more tools.</summary>
    Required,

    /// <summary>The model calls the one named function.</summary>
    Named,
}

/// <summary>A function the model may call: its name and the JSON schema of its arguments object.</summary>
public sealed record ToolFunction(string Name, JsonObject Parameters);

/// <summary>Validated tools and tool_choice. <see cref="TemplateJson"/> is what the chat template gets as `tools`.</summary>
public sealed record ToolSet(IReadOnlyList<ToolFunction> Functions, ToolChoiceMode Mode, string? Named, bool Parallel, string TemplateJson)
{
    /// <summary>The functions the model may call under the tool choice.</summary>
    public IReadOnlyList<ToolFunction> Callable => Mode switch
    {
        ToolChoiceMode.None => [],
        ToolChoiceMode.Named => Functions.Where(f => f.Name == Named).ToArray(),
        _ => Functions,
    };
}

/// <summary>Reads tools, tool_choice and parallel_tool_calls; errors name the field (tools[0].function.parameters, tool_choice).</summary>
public static class ToolRequest
{
    public const string ToolsField = "tools";
    public const string ChoiceField = "tool_choice";

    /// <summary>OpenAI's limit on tools per request.</summary>
    public const int MaxTools = 128;

    /// <summary>Returns null when the request has no tools (and then refuses a tool_choice other than none).</summary>
    public static ToolSet? Parse(JsonElement? tools, JsonElement? toolChoice, JsonElement? parallelToolCalls)
    {
        var parallel = parallelToolCalls is { ValueKind: not JsonValueKind.Null } p ? JsonFields.Bool(p, "parallel_tool_calls") : true;
        if (tools is not { ValueKind: not JsonValueKind.Null } list)
        {
            if (toolChoice is { ValueKind: not JsonValueKind.Null } choice && !(choice.ValueKind == JsonValueKind.String && choice.ValueEquals("none")))
                throw new RequestValidationException("tool_choice is only allowed when tools are given.", ChoiceField);
            return null;
        }
        if (list.ValueKind != JsonValueKind.Array)
            throw new RequestValidationException("tools must be an array of {\"type\":\"function\",\"function\":{...}} objects.", ToolsField);
        var count = list.GetArrayLength();
        if (count == 0)
            throw new RequestValidationException("tools must not be empty; leave it out instead.", ToolsField);
        if (count > MaxTools)
            throw new RequestValidationException($"tools may hold at most {MaxTools} functions.", ToolsField);

        var functions = new List<ToolFunction>(count);
        var template = new JsonArray();
        var index = 0;
        foreach (var tool in list.EnumerateArray())
        {
            var field = $"tools[{index}]";
            if (tool.ValueKind != JsonValueKind.Object)
                throw new RequestValidationException($"{field} must be an object.", field);
            if (JsonFields.OptionalString(tool, "type", $"{field}.type") != "function")
                throw new RequestValidationException($"{field}.type must be \"function\" (the only tool type supported).", $"{field}.type");
            if (!tool.TryGetProperty("function", out var function) || function.ValueKind != JsonValueKind.Object)
                throw new RequestValidationException($"{field}.function must be an object with a name.", $"{field}.function");
            var name = JsonFields.OptionalString(function, "name", $"{field}.function.name");
            if (name is null || !ResponseFormatRequest.NamePattern().IsMatch(name))
                throw new RequestValidationException($"{field}.function.name is required: 1 to 64 letters, digits, underscores or dashes.", $"{field}.function.name");
            if (functions.Any(f => f.Name == name))
                throw new RequestValidationException($"{field}.function.name '{name}' is given twice; function names must be unique.", $"{field}.function.name");
            var description = JsonFields.OptionalString(function, "description", $"{field}.function.description");
            JsonFields.OptionalBool(function, "strict", $"{field}.function.strict");
            var parameters = Parameters(function, $"{field}.function.parameters");
            functions.Add(new ToolFunction(name, parameters));

            var entry = new JsonObject { ["name"] = name };
            if (description is not null) entry["description"] = description;
            entry["parameters"] = parameters.DeepClone();
            template.Add(new JsonObject { ["type"] = "function", ["function"] = entry });
            index++;
        }

        var (mode, named) = Choice(toolChoice, functions);
        return new ToolSet(functions, mode, named, parallel, template.ToJsonString());
    }

    /// <summary>The arguments schema: an object schema (absent means no arguments).</summary>
    private static JsonObject Parameters(JsonElement function, string field)
    {
        if (!function.TryGetProperty("parameters", out var parameters) || parameters.ValueKind == JsonValueKind.Null)
            return new JsonObject { ["type"] = "object", ["properties"] = new JsonObject(), ["additionalProperties"] = false };
        if (parameters.ValueKind != JsonValueKind.Object)
            throw new RequestValidationException($"{field} must be a JSON schema object.", field);
        if (parameters.TryGetProperty("type", out var type) && !(type.ValueKind == JsonValueKind.String && type.ValueEquals("object")))
            throw new RequestValidationException($"{field}.type must be \"object\": function arguments are a JSON object.", field);
        var schema = JsonFields.ToObject(parameters, field);
        schema["type"] = "object";
        return schema;
    }

    private static (ToolChoiceMode Mode, string? Named) Choice(JsonElement? toolChoice, List<ToolFunction> functions)
    {
        if (toolChoice is not { ValueKind: not JsonValueKind.Null } choice)
            return (ToolChoiceMode.Auto, null);
        if (choice.ValueKind == JsonValueKind.String)
        {
            return RequestValidator.Text(choice, ChoiceField) switch
            {
                "none" => (ToolChoiceMode.None, null),
                "auto" => (ToolChoiceMode.Auto, null),
                "required" => (ToolChoiceMode.Required, null),
                var other => throw new RequestValidationException(
                    $"tool_choice '{other}' is not valid: use none, auto, required or {{\"type\":\"function\",\"function\":{{\"name\":...}}}}.", ChoiceField),
            };
        }
        if (choice.ValueKind != JsonValueKind.Object
            || JsonFields.OptionalString(choice, "type", $"{ChoiceField}.type") != "function"
            || !choice.TryGetProperty("function", out var function) || function.ValueKind != JsonValueKind.Object)
            throw new RequestValidationException("tool_choice must be none, auto, required or {\"type\":\"function\",\"function\":{\"name\":...}}.", ChoiceField);
        var name = JsonFields.OptionalString(function, "name", $"{ChoiceField}.function.name");
        if (name is null || functions.All(f => f.Name != name))
            throw new RequestValidationException($"tool_choice names function '{name}', which is not in tools.", ChoiceField);
        return (ToolChoiceMode.Named, name);
    }
}
