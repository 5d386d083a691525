namespace LlmInfra.Engine;

/// <summary>How to load a model folder.</summary>
public sealed record EngineOptions
{
    /// <summary>Folder with genai_config.json, the ONNX model and the tokenizer files.</summary>
    public required string ModelPath { get; init; }

    /// <summary>Execution provider: "cpu" (default) or "cuda" (needs the GenAI CUDA package and a GPU).</summary>
    public string Provider { get; init; } = "cpu";

    /// <summary>ONNX Runtime intra-op threads per session; null keeps ONNX Runtime's default (one per core).</summary>
    public int? IntraOpThreads { get; init; }
}

/// <summary>Limits and parallelism of the <see cref="GenerationScheduler"/>.</summary>
public sealed record SchedulerOptions
{
    /// <summary>Requests generating at the same time, over all batches.</summary>
    public int MaxConcurrent { get; init; } = 8;

    /// <summary>Requests waiting for a slot; beyond it <see cref="GenerationScheduler.Submit"/> throws <see cref="QueueFullException"/>.</summary>
    public int MaxQueue { get; init; } = 64;

    /// <summary>Requests decoded together in one generator step. Workers = ceil(MaxConcurrent / MaxBatchSize).</summary>
    public int MaxBatchSize { get; init; } = 8;

    /// <summary>
    /// Longest time a free worker waits for more compatible requests before starting a batch. It waits only while
    /// recent load says more are coming (its share of the last second's peak); a lone client never waits.
    /// </summary>
    public TimeSpan BatchWindow { get; init; } = TimeSpan.FromMilliseconds(20);

    /// <summary>Longest time a request may spend queued plus generating; null for none.</summary>
    public TimeSpan? RequestTimeout { get; init; } = TimeSpan.FromMinutes(5);

    public void Validate()
    {
        if (MaxConcurrent < 1) throw new ArgumentOutOfRangeException(nameof(MaxConcurrent), "MaxConcurrent must be at least 1.");
        if (MaxQueue < 0) throw new ArgumentOutOfRangeException(nameof(MaxQueue), "MaxQueue must not be negative.");
        if (MaxBatchSize < 1) throw new ArgumentOutOfRangeException(nameof(MaxBatchSize), "MaxBatchSize must be at least 1.");
        if (BatchWindow < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(BatchWindow), "BatchWindow must not be negative.");
    }
}
