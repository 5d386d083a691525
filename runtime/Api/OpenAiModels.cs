using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace LlmInfra.Runtime.Api;

/// <summary>JSON settings of the OpenAI wire format: snake_case, nulls written (clients expect e.g. "finish_reason": null).</summary>
public static class OpenAiJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        NumberHandling = JsonNumberHandling.Strict,
        AllowTrailingCommas = false,
        // Responses are JSON for API clients, never embedded in HTML: keep '<', '\'' and non-ASCII text readable.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };
}

// ---- Requests. Fields the server does not use are ignored, as OpenAI-compatible servers do. ----

/// <summary>Sampling fields shared by both endpoints.</summary>
public abstract class SamplingRequest
{
    public string? Model { get; set; }
    public int? MaxTokens { get; set; }
    public int? MaxCompletionTokens { get; set; }
    public double? Temperature { get; set; }
    public double? TopP { get; set; }

    /// <summary>Extension: not part of OpenAI's API.</summary>
    public int? TopK { get; set; }

    public long? Seed { get; set; }

    /// <summary>A string or an array of strings.</summary>
    public JsonElement? Stop { get; set; }

    public int? N { get; set; }
    public bool? Stream { get; set; }
    public StreamOptions? StreamOptions { get; set; }

    /// <summary>Chat: a boolean; completions: an integer. Refused when asked for (see RequestValidator).</summary>
    public JsonElement? Logprobs { get; set; }

    public JsonElement? TopLogprobs { get; set; }
}

public sealed class StreamOptions
{
    public bool? IncludeUsage { get; set; }
}

public sealed class ChatCompletionRequest : SamplingRequest
{
    public List<ChatMessageRequest?>? Messages { get; set; }

    /// <summary>{"type":"text"|"json_object"|"json_schema", "json_schema":{name, schema, strict}}.</summary>
    public JsonElement? ResponseFormat { get; set; }

    /// <summary>[{"type":"function","function":{name, description, parameters, strict}}].</summary>
    public JsonElement? Tools { get; set; }

    /// <summary>"none" | "auto" | "required" | {"type":"function","function":{"name":...}}.</summary>
    public JsonElement? ToolChoice { get; set; }

    public JsonElement? ParallelToolCalls { get; set; }
}

public sealed class ChatMessageRequest
{
    public string? Role { get; set; }

    /// <summary>A string or an array of content parts ({"type":"text","text":...}).</summary>
    public JsonElement? Content { get; set; }

    /// <summary>An assistant message's calls: [{"id","type":"function","function":{"name","arguments"}}].</summary>
    public JsonElement? ToolCalls { get; set; }

    /// <summary>A tool message: the id of the call it answers.</summary>
    public JsonElement? ToolCallId { get; set; }
}

public sealed class CompletionRequest : SamplingRequest
{
    /// <summary>A string or an array holding one string.</summary>
    public JsonElement? Prompt { get; set; }
}

// ---- Responses ----

public sealed record Usage(int PromptTokens, int CompletionTokens, int TotalTokens, PromptTokensDetails PromptTokensDetails)
{
    public static Usage Of(int prompt, int completion, int cachedPrompt = 0) =>
        new(prompt, completion, prompt + completion, new PromptTokensDetails(cachedPrompt));
}

/// <summary>cached_tokens: prompt tokens served from the backend's prefix cache.</summary>
public sealed record PromptTokensDetails(int CachedTokens);

public sealed record ChatCompletion(string Id, string Object, long Created, string Model, IReadOnlyList<ChatChoice> Choices, Usage Usage, string? SystemFingerprint);

public sealed record ChatChoice(int Index, AssistantMessage Message, string? FinishReason, object? Logprobs);

public sealed record AssistantMessage(string Role, string? Content,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<ToolCall>? ToolCalls);

public sealed record ToolCall(string Id, string Type, FunctionCall Function);

/// <summary>Arguments is the JSON text of the arguments object, as OpenAI sends it.</summary>
public sealed record FunctionCall(string Name, string Arguments);

/// <summary>A streamed piece of a tool call: the first carries id, type and name; later ones arguments text.</summary>
public sealed record ToolCallDelta(int Index,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Id,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Type,
    FunctionCallDelta Function);

public sealed record FunctionCallDelta(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Name,
    string Arguments);

public sealed record ChatCompletionChunk(string Id, string Object, long Created, string Model, IReadOnlyList<ChatChunkChoice> Choices,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] Usage? Usage, string? SystemFingerprint);

public sealed record ChatChunkChoice(int Index, ChatDelta Delta, string? FinishReason, object? Logprobs);

public sealed record ChatDelta(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Role,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Content,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<ToolCallDelta>? ToolCalls = null);

public sealed record TextCompletion(string Id, string Object, long Created, string Model, IReadOnlyList<TextChoice> Choices,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] Usage? Usage, string? SystemFingerprint);

public sealed record TextChoice(string Text, int Index, object? Logprobs, string? FinishReason);

public sealed record ModelList(string Object, IReadOnlyList<ModelCard> Data);

public sealed record ModelCard(string Id, string Object, long Created, string OwnedBy);
