using System.Text.Json;
using LlmInfra.Engine;
using LlmInfra.Runtime.Api.Structured;
using LlmInfra.Runtime.Api.Tools;
using LlmInfra.Runtime.Hosting;
using Microsoft.Extensions.Options;

namespace LlmInfra.Runtime.Api;

/// <summary>A validated request, ready for the backend.</summary>
/// <param name="Choices">OpenAI's n: generations of the same prompt, each a choice.</param>
/// <param name="Tools">The callable tools and tool choice; null when the request has none.</param>
/// <param name="GuidanceField">The request field <see cref="SamplingOptions.Guidance"/> comes from, named when the backend refuses it.</param>
public sealed record ValidatedRequest(SamplingOptions Sampling, bool Stream, bool IncludeUsage, int Choices = 1,
    Tools.ToolSet? Tools = null, string? GuidanceField = null)
{
    /// <summary>Sampling for each choice. A seed gives choice i the seed + i: the set of choices is reproducible, its members differ.</summary>
    public IReadOnlyList<SamplingOptions> ChoiceSampling() =>
        Enumerable.Range(0, Choices).Select(i => Sampling.Seed is long seed && i > 0 ? Sampling with { Seed = unchecked(seed + i) } : Sampling).ToArray();
}

/// <summary>Checks requests against OpenAI's ranges and the server's limits; errors name the offending field.</summary>
public sealed class RequestValidator(IOptions<RuntimeOptions> options, ModelHost host)
{
    private const int MaxStopStrings = 4;

    /// <summary>Most choices (n) one request may ask for.</summary>
    public const int MaxChoices = 16;
    private static readonly HashSet<string> Roles = ["system", "developer", "user", "assistant", "tool"];
    private readonly RuntimeOptions _options = options.Value;

    public ValidatedRequest Validate(SamplingRequest request)
    {
        if (request.Model is { } model && model != host.ModelName)
            throw new RequestValidationException($"The model '{model}' does not exist. This server serves '{host.ModelName}'.", "model", "model_not_found");
        var n = request.N ?? 1;
        var capacity = host.Scheduler?.QueueCapacity ?? MaxChoices;
        if (n < 1 || n > Math.Min(MaxChoices, capacity))
            throw new RequestValidationException($"n must be between 1 and {Math.Min(MaxChoices, capacity)} (each choice is a generation of its own).", "n");
        RefuseLogprobs(request);

        var maxTokensField = request.MaxCompletionTokens is not null ? "max_completion_tokens" : "max_tokens";
        var maxTokens = request.MaxCompletionTokens ?? request.MaxTokens ?? _options.DefaultMaxTokens;
        if (maxTokens < 1 || maxTokens > _options.MaxTokensCap)
            throw new RequestValidationException($"{maxTokensField} must be between 1 and {_options.MaxTokensCap}.", maxTokensField);
        var temperature = request.Temperature ?? 1.0;
        if (temperature is < 0 or > 2 || double.IsNaN(temperature))
            throw new RequestValidationException("temperature must be between 0 and 2.", "temperature");
        var topP = request.TopP ?? 1.0;
        if (topP is <= 0 or > 1 || double.IsNaN(topP))
            throw new RequestValidationException("top_p must be greater than 0 and at most 1.", "top_p");
        var topK = request.TopK ?? 0;
        if (topK < 0)
            throw new RequestValidationException("top_k must not be negative.", "top_k");
        if (request.StreamOptions is not null && request.Stream != true)
            throw new RequestValidationException("stream_options is only allowed when stream is true.", "stream_options");

        return new ValidatedRequest(
            new SamplingOptions
            {
                MaxTokens = maxTokens,
                Temperature = temperature,
                TopP = topP,
                TopK = topK,
                Seed = request.Seed,
                Stop = StopStrings(request.Stop),
            },
            request.Stream == true,
            request.StreamOptions?.IncludeUsage == true,
            n);
    }

    /// <summary>
    /// ONNX Runtime GenAI reports tokens, not their probabilities (neither the generator nor the Engine's events
    /// carry logprobs), so a request for them is refused rather than answered without them.
    /// </summary>
    private static void RefuseLogprobs(SamplingRequest request)
    {
        const string why = "the generation backend (ONNX Runtime GenAI) does not report token log probabilities.";
        // Completions' logprobs is a count where 0 still asks for the sampled token's logprob; only false/null ask nothing.
        if (request.Logprobs?.ValueKind is not (null or JsonValueKind.Null or JsonValueKind.False))
            throw new RequestValidationException($"logprobs is not supported: {why}", "logprobs", "unsupported_parameter");
        if (request.TopLogprobs is { ValueKind: not JsonValueKind.Null })
            throw new RequestValidationException($"top_logprobs is not supported: {why}", "top_logprobs", "unsupported_parameter");
    }

    /// <summary>
    /// A chat request: the shared checks, the messages, tools and response_format, with the guidance that enforces
    /// the last two set on the sampling options.
    /// </summary>
    public (ValidatedRequest Request, IReadOnlyList<ChatMessage> Messages) ValidateChat(ChatCompletionRequest request)
    {
        var validated = Validate(request);
        var messages = Messages(request);
        var tools = ToolRequest.Parse(request.Tools, request.ToolChoice, request.ParallelToolCalls);
        var (guidance, field) = ReplyGuidance.Build(ResponseFormatRequest.Parse(request.ResponseFormat), tools);
        return (validated with { Sampling = validated.Sampling with { Guidance = guidance }, Tools = tools, GuidanceField = field }, messages);
    }

    public static IReadOnlyList<ChatMessage> Messages(ChatCompletionRequest request)
    {
        if (request.Messages is not { Count: > 0 } messages)
            throw new RequestValidationException("messages must be a non-empty array.", "messages");
        var result = new List<ChatMessage>(messages.Count);
        var callIds = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < messages.Count; i++)
        {
            var m = messages[i] ?? throw new RequestValidationException($"messages[{i}] must be an object.", $"messages[{i}]");
            if (m.Role is null || !Roles.Contains(m.Role))
                throw new RequestValidationException($"messages[{i}].role must be one of: {string.Join(", ", Roles)}.", $"messages[{i}].role");
            // The templates know system/user/assistant; OpenAI's newer "developer" role means system.
            var role = m.Role == "developer" ? "system" : m.Role;
            var message = new ChatMessage(role, Content(m.Content, $"messages[{i}].content"));
            if (m.ToolCalls is { ValueKind: not JsonValueKind.Null } calls)
            {
                if (role != "assistant")
                    throw new RequestValidationException($"messages[{i}].tool_calls is only allowed on assistant messages.", $"messages[{i}].tool_calls");
                message = message with { ToolCalls = ToolCalls(calls, $"messages[{i}].tool_calls", callIds) };
            }
            if (role == "tool")
            {
                var field = $"messages[{i}].tool_call_id";
                var id = m.ToolCallId is { ValueKind: JsonValueKind.String } idElement ? Text(idElement, field) : null;
                if (string.IsNullOrEmpty(id))
                    throw new RequestValidationException($"{field} is required on tool messages: the id of the tool call this message answers.", field);
                if (!callIds.Contains(id))
                    throw new RequestValidationException($"{field} '{id}' does not match a tool call of an earlier assistant message.", field);
                message = message with { ToolCallId = id };
            }
            result.Add(message);
        }
        return result;
    }

    /// <summary>An assistant message's tool calls: [{"id","type":"function","function":{"name","arguments"}}], arguments a JSON object as text.</summary>
    private static List<ChatToolCall> ToolCalls(JsonElement calls, string field, HashSet<string> callIds)
    {
        if (calls.ValueKind != JsonValueKind.Array)
            throw new RequestValidationException($"{field} must be an array of tool calls.", field);
        var result = new List<ChatToolCall>();
        var j = 0;
        foreach (var call in calls.EnumerateArray())
        {
            var at = $"{field}[{j++}]";
            if (call.ValueKind != JsonValueKind.Object)
                throw new RequestValidationException($"{at} must be an object.", at);
            var id = JsonFields.OptionalString(call, "id", $"{at}.id");
            if (string.IsNullOrEmpty(id))
                throw new RequestValidationException($"{at}.id is required.", $"{at}.id");
            if ((JsonFields.OptionalString(call, "type", $"{at}.type") ?? "function") != "function")
                throw new RequestValidationException($"{at}.type must be \"function\".", $"{at}.type");
            if (!call.TryGetProperty("function", out var function) || function.ValueKind != JsonValueKind.Object)
                throw new RequestValidationException($"{at}.function must be an object with a name and arguments.", $"{at}.function");
            var name = JsonFields.OptionalString(function, "name", $"{at}.function.name");
            if (string.IsNullOrEmpty(name))
                throw new RequestValidationException($"{at}.function.name is required.", $"{at}.function.name");
            var arguments = JsonFields.OptionalString(function, "arguments", $"{at}.function.arguments") ?? "{}";
            try
            {
                using var parsed = JsonDocument.Parse(arguments);
                if (parsed.RootElement.ValueKind != JsonValueKind.Object) throw new JsonException();
            }
            catch (JsonException)
            {
                throw new RequestValidationException($"{at}.function.arguments must be a JSON object serialized as a string.", $"{at}.function.arguments");
            }
            callIds.Add(id);
            result.Add(new ChatToolCall(id, name, arguments));
        }
        return result;
    }

    public static string Prompt(CompletionRequest request)
    {
        var prompt = request.Prompt;
        string? text = prompt?.ValueKind switch
        {
            JsonValueKind.String => Text(prompt.Value, "prompt"),
            JsonValueKind.Array when prompt.Value.GetArrayLength() == 1 && prompt.Value[0].ValueKind == JsonValueKind.String => Text(prompt.Value[0], "prompt"),
            JsonValueKind.Array => throw new RequestValidationException("prompt arrays must hold exactly one string (batched prompts are not supported).", "prompt"),
            _ => null,
        };
        if (string.IsNullOrEmpty(text))
            throw new RequestValidationException("prompt must be a non-empty string.", "prompt");
        return text;
    }

    private static string Content(JsonElement? content, string field)
    {
        switch (content?.ValueKind)
        {
            case JsonValueKind.String:
                return Text(content.Value, field);
            case JsonValueKind.Array:
                var parts = new List<string>();
                var index = 0;
                foreach (var part in content.Value.EnumerateArray())
                {
                    // ValueEquals compares the raw JSON text, so a badly encoded "type" is just not "text".
                    if (part.ValueKind != JsonValueKind.Object
                        || !part.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String || !type.ValueEquals("text")
                        || !part.TryGetProperty("text", out var text) || text.ValueKind != JsonValueKind.String)
                        throw new RequestValidationException($"{field}: only text content parts are supported.", field);
                    parts.Add(Text(text, $"{field}[{index}].text"));
                    index++;
                }
                return string.Concat(parts);
            case JsonValueKind.Null or null:
                return "";
            default:
                throw new RequestValidationException($"{field} must be a string or an array of text parts.", field);
        }
    }

    /// <summary>
    /// A JSON string's text. JsonElement decodes only here, and throws InvalidOperationException for invalid UTF-8
    /// bytes or an unpaired surrogate escape ("\ud800"): bad client input, so a 400 naming the field, not a 500.
    /// </summary>
    public static string Text(JsonElement element, string field)
    {
        try
        {
            return element.GetString()!;
        }
        catch (InvalidOperationException)
        {
            throw new RequestValidationException(InvalidText(field), field);
        }
    }

    public static string InvalidText(string field) =>
        $"{field} is not valid text: it holds invalid UTF-8 bytes or an unpaired UTF-16 surrogate escape (such as \\ud800).";

    private static IReadOnlyList<string> StopStrings(JsonElement? stop)
    {
        List<string> stops;
        switch (stop?.ValueKind)
        {
            case null or JsonValueKind.Null:
                return [];
            case JsonValueKind.String:
                stops = [Text(stop.Value, "stop")];
                break;
            case JsonValueKind.Array:
                stops = [];
                foreach (var s in stop.Value.EnumerateArray())
                {
                    if (s.ValueKind != JsonValueKind.String)
                        throw new RequestValidationException("stop must be a string or an array of strings.", "stop");
                    stops.Add(Text(s, "stop"));
                }
                break;
            default:
                throw new RequestValidationException("stop must be a string or an array of strings.", "stop");
        }
        if (stops.Count > MaxStopStrings)
            throw new RequestValidationException($"stop may hold at most {MaxStopStrings} strings.", "stop");
        if (stops.Any(s => s.Length == 0))
            throw new RequestValidationException("stop strings must not be empty.", "stop");
        return stops;
    }
}
