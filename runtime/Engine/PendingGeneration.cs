using System.Diagnostics;
using System.Text;
using System.Threading.Channels;

namespace LlmInfra.Engine;

/// <summary>
/// A submitted request's bookkeeping, shared by both backends: its text channel and result, the stop-text matcher,
/// timestamps, and its cancellation (the caller's token or the request deadline).
/// </summary>
internal abstract class PendingGeneration(int[] tokens, SamplingOptions sampling, int maxNew) : IDisposable
{
    private CancellationTokenSource? _cts;
    private CancellationTokenRegistration _registration;
    private CancellationToken _caller;

    /// <summary>
    /// A prompt's tokens as both backends admit it: a non-empty prompt of at most <paramref name="limit"/> tokens, else
    /// <see cref="ArgumentException"/> or <see cref="PromptTooLongException"/>.
    /// </summary>
    public static int[] EncodePrompt(LlmModel model, string prompt, int limit)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        var tokens = model.Encode(prompt);
        if (tokens.Length == 0)
            throw new ArgumentException("The prompt must not be empty.", nameof(prompt));
        if (tokens.Length > limit)
            throw new PromptTooLongException(tokens.Length, limit);
        return tokens;
    }

    public int[] Tokens { get; } = tokens;
    public SamplingOptions Sampling { get; } = sampling;
    public int MaxNew { get; } = maxNew;
    public StopSequenceMatcher Matcher { get; } = new(sampling.Stop);
    public StringBuilder Text { get; } = new();
    public Channel<string> Channel { get; } = System.Threading.Channels.Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    public TaskCompletionSource<GenerationResult> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    public long EnqueuedAt { get; } = Stopwatch.GetTimestamp();
    public long StartedAt { get; set; }
    public long FirstTokenAt { get; set; }
    public int CompletionTokens { get; set; }

    public bool IsCancelled => _cts?.IsCancellationRequested == true;
    public FinishReason CancelReason => _caller.IsCancellationRequested ? FinishReason.Cancelled : FinishReason.DeadlineExceeded;

    /// <summary>Calls <paramref name="onCancelled"/> once when the caller cancels or the timeout passes.</summary>
    public void Watch(CancellationToken caller, TimeSpan? timeout, Action<PendingGeneration> onCancelled)
    {
        _caller = caller;
        _cts = CancellationTokenSource.CreateLinkedTokenSource(caller);
        if (timeout is TimeSpan t) _cts.CancelAfter(t);
        _registration = _cts.Token.Register(() => onCancelled(this));
    }

    public void Emit(string text)
    {
        if (text.Length == 0) return;
        Text.Append(text);
        Channel.Writer.TryWrite(text);
    }

    /// <summary>The final result as of now.</summary>
    public GenerationResult ToResult(FinishReason reason, int cachedPromptTokens = 0)
    {
        var end = Stopwatch.GetTimestamp();
        return new GenerationResult(
            Text.ToString(),
            reason,
            Tokens.Length,
            CompletionTokens,
            Stopwatch.GetElapsedTime(EnqueuedAt, StartedAt == 0 ? end : StartedAt),
            FirstTokenAt == 0 ? null : Stopwatch.GetElapsedTime(EnqueuedAt, FirstTokenAt),
            Stopwatch.GetElapsedTime(EnqueuedAt, end),
            cachedPromptTokens);
    }

    public void Dispose()
    {
        // Unregister without waiting: this may run inside the callback itself.
        _registration.Unregister();
        _cts?.Dispose();
    }
}
