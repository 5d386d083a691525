namespace LlmInfra.Engine;

/// <summary>Per-request sampling settings, OpenAI-style. Temperature 0 means greedy decoding.</summary>
public sealed record SamplingOptions
{
    public int MaxTokens { get; init; } = 256;
    public double Temperature { get; init; } = 1.0;
    public double TopP { get; init; } = 1.0;

    /// <summary>0 disables top-k (OpenAI has no top-k; it is an extension here).</summary>
    public int TopK { get; init; }

    public long? Seed { get; init; }
    public IReadOnlyList<string> Stop { get; init; } = [];

    /// <summary>Constrains the output (JSON schema, regex or Lark grammar) through GenAI's guidance; null for none.</summary>
    public Guidance? Guidance { get; init; }

    public bool IsGreedy => Temperature <= 0;

    /// <summary>
    /// Requests with equal keys may share one batched generator (GenAI sampling settings are per generator).
    /// A seeded sampling request gets a key of its own: a shared random stream would make its output depend on
    /// its batch neighbours, and a seed promises the same output every time.
    /// A guided request gets one too: guidance is set per generator, and in a batch GenAI keeps asking a sequence's
    /// finished grammar for a mask while its neighbours go on ("compute_mask() called after stop").
    /// </summary>
    internal object BatchKey(object uniqueToken) =>
        Guidance is not null || Seed is not null && !IsGreedy ? uniqueToken
        : IsGreedy ? "greedy"
        : (Temperature, TopP, TopK);
}

/// <summary>The kinds of output constraint GenAI's guidance accepts.</summary>
public enum GuidanceKind
{
    JsonSchema,
    Regex,
    LarkGrammar,
}

/// <summary>An output constraint: its kind and its text (a JSON schema, a regular expression or a Lark grammar).</summary>
public sealed record Guidance(GuidanceKind Kind, string Data)
{
    /// <summary>The type name GenAI's guidance calls take (OgaGeneratorParamsSetGuidance, OgaTurnOptionsSetGuidance).</summary>
    public string NativeType => Kind switch
    {
        GuidanceKind.JsonSchema => "json_schema",
        GuidanceKind.Regex => "regex",
        GuidanceKind.LarkGrammar => "lark_grammar",
        _ => throw new ArgumentOutOfRangeException(nameof(Kind), Kind, null),
    };
}

/// <summary>Why a generation ended.</summary>
public enum FinishReason
{
    /// <summary>End-of-sequence token or a stop string.</summary>
    Stop,

    /// <summary><see cref="SamplingOptions.MaxTokens"/> or the context length reached.</summary>
    Length,

    /// <summary>The caller's cancellation token fired (e.g. the client went away).</summary>
    Cancelled,

    /// <summary>The request timeout passed.</summary>
    DeadlineExceeded,
}

/// <summary>A chat message as the model's chat template expects it.</summary>
public sealed record ChatMessage(string Role, string Content)
{
    /// <summary>Tool calls an assistant message made (rendered by templates that know tools); null for none.</summary>
    public IReadOnlyList<ChatToolCall>? ToolCalls { get; init; }

    /// <summary>For a "tool" message: the id of the call it answers.</summary>
    public string? ToolCallId { get; init; }
}

/// <summary>A function call in an assistant message; <see cref="ArgumentsJson"/> is the arguments object as JSON text.</summary>
public sealed record ChatToolCall(string Id, string Name, string ArgumentsJson);

/// <summary>The outcome of one generation.</summary>
public sealed record GenerationResult(
    string Text,
    FinishReason FinishReason,
    int PromptTokens,
    int CompletionTokens,
    TimeSpan QueueTime,
    TimeSpan? TimeToFirstToken,
    TimeSpan Duration,
    int CachedPromptTokens = 0);

/// <summary>Thrown by <see cref="GenerationScheduler.Submit"/> when the queue is full.</summary>
public sealed class QueueFullException(int capacity)
    : Exception($"The request queue is full ({capacity} requests). Retry later.")
{
    public int Capacity { get; } = capacity;
}

/// <summary>Thrown by <see cref="GenerationScheduler.Submit"/> once draining started.</summary>
public sealed class SchedulerClosedException() : Exception("The scheduler is draining and accepts no new requests.");

/// <summary>Thrown when a model folder or execution provider cannot be loaded.</summary>
public sealed class ModelLoadException(string message, Exception? inner = null) : Exception(message, inner);
