using System.Threading.Channels;

namespace LlmInfra.Engine;

/// <summary>A submitted request: its text as it is generated, and its final result.</summary>
public sealed class Generation
{
    internal Generation(ChannelReader<string> text, Task<GenerationResult> completion, int promptTokens)
    {
        Text = text;
        Completion = completion;
        PromptTokens = promptTokens;
    }

    /// <summary>Text pieces in order; completes when generation ends (with the error, if it failed).</summary>
    public ChannelReader<string> Text { get; }

    /// <summary>The final result; faults only on an engine error, never on cancellation (see <see cref="FinishReason"/>).</summary>
    public Task<GenerationResult> Completion { get; }

    public int PromptTokens { get; }
}

/// <summary>Thrown by <see cref="GenerationScheduler.Submit"/> when the prompt does not fit.</summary>
public sealed class PromptTooLongException(int promptTokens, int limit)
    : Exception($"The prompt has {promptTokens} tokens; at most {limit} are allowed.")
{
    public int PromptTokens { get; } = promptTokens;
    public int Limit { get; } = limit;
}

/// <summary>
/// The native side refused a request's <see cref="Guidance"/> (the grammar or schema does not compile). The
/// generation's text and completion fault with it; nothing was generated. The message is the parser's own.
/// </summary>
public sealed class GuidanceRejectedException(string message, Exception? inner = null) : Exception(message, inner);
