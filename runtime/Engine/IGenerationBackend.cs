using System.Runtime.CompilerServices;

namespace LlmInfra.Engine;

/// <summary>
/// What the server and in-process users need from a generation backend: submit, observe, drain. Implemented by
/// <see cref="GenerationScheduler"/> (cohorts on the per-generator API, for models that are not paged); the
/// GenAI Engine backend (continuous batching over a paged KV cache) implements it too.
/// </summary>
public interface IGenerationBackend : IDisposable
{
    /// <summary>Requests admitted and not yet generating (the autoscaling signal).</summary>
    int Waiting { get; }

    /// <summary>Requests generating now.</summary>
    int Running { get; }

    /// <summary>Requests waiting plus running beyond which <see cref="Submit"/> throws <see cref="QueueFullException"/>.</summary>
    int QueueCapacity { get; }

    /// <summary>Longest prompt accepted, in tokens.</summary>
    int PromptLimit { get; }

    LlmModel Model { get; }

    /// <summary>Raised once per request when it ends, for any reason. Runs on a backend thread: keep it short.</summary>
    event Action<GenerationResult>? Completed;

    /// <summary>
    /// Queues a prompt. Throws <see cref="PromptTooLongException"/>, <see cref="QueueFullException"/> or
    /// <see cref="SchedulerClosedException"/>; cancelling the token ends the generation with <see cref="FinishReason.Cancelled"/>.
    /// </summary>
    Generation Submit(string prompt, SamplingOptions sampling, CancellationToken cancellationToken = default);

    /// <summary>
    /// Queues one generation of the prompt per sampling option (OpenAI's n), all or none: a full queue throws
    /// <see cref="QueueFullException"/> with none of them left running. This default submits one by one and
    /// cancels what it queued when a later one is refused; a backend that can check its capacity once overrides it.
    /// </summary>
    IReadOnlyList<Generation> SubmitAll(string prompt, IReadOnlyList<SamplingOptions> samplings, CancellationToken cancellationToken = default)
    {
        var rollback = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var generations = new List<Generation>(samplings.Count);
        try
        {
            foreach (var sampling in samplings)
                generations.Add(Submit(prompt, sampling, rollback.Token));
        }
        catch
        {
            rollback.Cancel();
            rollback.Dispose();
            throw;
        }
        // The source lives as long as the generations: released when the last one ends.
        _ = Task.WhenAll(generations.Select(g => (Task)g.Completion)).ContinueWith(_ => rollback.Dispose(), TaskScheduler.Default);
        return generations;
    }

    /// <summary>
    /// Stops accepting requests and waits for queued and running ones to finish. When <paramref name="cancellationToken"/>
    /// fires first, what is left is cancelled. Returns true when everything finished on its own.
    /// </summary>
    Task<bool> DrainAsync(CancellationToken cancellationToken);
}

/// <summary>Conveniences over <see cref="IGenerationBackend.Submit"/> for in-process use.</summary>
public static class GenerationBackendExtensions
{
    /// <summary>Renders chat messages with the model's template and submits them.</summary>
    public static Generation SubmitChat(this IGenerationBackend backend, IReadOnlyList<ChatMessage> messages, SamplingOptions sampling, CancellationToken cancellationToken = default) =>
        backend.Submit(backend.Model.ApplyChatTemplate(messages), sampling, cancellationToken);

    /// <summary>Generates to the end and returns the result.</summary>
    public static Task<GenerationResult> GenerateAsync(this IGenerationBackend backend, string prompt, SamplingOptions sampling, CancellationToken cancellationToken = default) =>
        backend.Submit(prompt, sampling, cancellationToken).Completion;

    /// <summary>Streams text pieces as they are generated.</summary>
    public static async IAsyncEnumerable<string> StreamAsync(this IGenerationBackend backend, string prompt, SamplingOptions sampling, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var generation = backend.Submit(prompt, sampling, cancellationToken);
        await foreach (var piece in generation.Text.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
            yield return piece;
    }
}
