namespace LlmInfra.DemoModel;

/// <summary>
/// The paged KV cache of a demo model built for GenAI's Engine with dynamic batching (continuous batching, prefix
/// reuse). Written into genai_config.json as <c>engine.dynamic_batching</c>; the graph then follows the engine's
/// packed/paged decoder contract.
/// </summary>
public sealed record PagedCacheSpec
{
    /// <summary>Token slots per KV block.</summary>
    public int BlockSize { get; init; } = 16;

    /// <summary>KV blocks per layer (required on CPU). One request holds at most NumBlocks x BlockSize + 1 tokens.</summary>
    public int NumBlocks { get; init; } = 256;

    /// <summary>Requests decoded in one engine step.</summary>
    public int MaxBatchSize { get; init; } = 16;

    /// <summary>Tokens in one engine step; longer prompts are prefilled in chunks of this size.</summary>
    public int MaxScheduledTokens { get; init; } = 512;

    public void Validate()
    {
        if (BlockSize < 1 || NumBlocks < 1 || MaxBatchSize < 1 || MaxScheduledTokens < 1)
            throw new ArgumentOutOfRangeException(nameof(BlockSize), "BlockSize, NumBlocks, MaxBatchSize and MaxScheduledTokens must be positive.");
    }
}
