using System.Text.Json;
using LlmInfra.Engine;
using LlmInfra.Runtime.Hosting;
using Microsoft.Extensions.Options;

namespace LlmInfra.Runtime.Api;

/// <summary>A validated request, ready for the scheduler.</summary>
public sealed record ValidatedRequest(SamplingOptions Sampling, bool Stream, bool IncludeUsage);

/// <summary>Checks requests against OpenAI's ranges and the server's limits; errors name the offending field.</summary>
public sealed class RequestValidator(IOptions<RuntimeOptions> options, ModelHost host)
{
    private const int MaxStopStrings = 4;
    private static readonly HashSet<string> Roles = ["system", "developer", "user", "assistant", "tool"];
    private readonly RuntimeOptions _options = options.Value;

    public ValidatedRequest Validate(SamplingRequest request)
    {
        if (request.Model is { } model && model != host.ModelName)
            throw new RequestValidationException($"The model '{model}' does not exist. This server serves '{host.ModelName}'.", "model", "model_not_found");
        if (request.N is { } n && n != 1)
            throw new RequestValidationException("Only n = 1 is supported.", "n");

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
            request.StreamOptions?.IncludeUsage == true);
    }

    public static IReadOnlyList<ChatMessage> Messages(ChatCompletionRequest request)
    {
        if (request.Messages is not { Count: > 0 } messages)
            throw new RequestValidationException("messages must be a non-empty array.", "messages");
        var result = new List<ChatMessage>(messages.Count);
        for (var i = 0; i < messages.Count; i++)
        {
            var m = messages[i] ?? throw new RequestValidationException($"messages[{i}] must be an object.", $"messages[{i}]");
            if (m.Role is null || !Roles.Contains(m.Role))
                throw new RequestValidationException($"messages[{i}].role must be one of: {string.Join(", ", Roles)}.", $"messages[{i}].role");
            // The templates know system/user/assistant; OpenAI's newer "developer" role means system.
            var role = m.Role == "developer" ? "system" : m.Role;
            result.Add(new ChatMessage(role, Content(m.Content, $"messages[{i}].content")));
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
    private static string Text(JsonElement element, string field)
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
