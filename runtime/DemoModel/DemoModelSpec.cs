namespace LlmInfra.DemoModel;

/// <summary>Sizes and seed of a generated random-weight decoder model. Same spec, same bytes.</summary>
public sealed record DemoModelSpec
{
    public int VocabSize { get; init; } = 512;
    public int HiddenSize { get; init; } = 64;
    public int Layers { get; init; } = 2;
    public int Heads { get; init; } = 4;
    public int KvHeads { get; init; } = 2;
    public int FeedForwardSize { get; init; } = 128;
    public int ContextLength { get; init; } = 512;
    public ulong Seed { get; init; } = 42;

    /// <summary>Added to the end-of-text logit. Random weights hit EOS too often; a negative bias keeps replies long.</summary>
    public float EosLogitBias { get; init; } = -6f;

    /// <summary>The model `--demo` serves: small enough to build in well under a second.</summary>
    public static DemoModelSpec Demo { get; } = new() { VocabSize = 2048, HiddenSize = 128, Layers = 2, Heads = 4, KvHeads = 2, FeedForwardSize = 256, ContextLength = 1024 };

    /// <summary>The tiny model the tests use.</summary>
    public static DemoModelSpec Tiny { get; } = new() { VocabSize = 512, HiddenSize = 64, Layers = 2, Heads = 4, KvHeads = 2, FeedForwardSize = 128, ContextLength = 256 };

    /// <summary>The benchmark model: hidden 512, 8 layers, vocab 32000.</summary>
    public static DemoModelSpec Benchmark { get; } = new() { VocabSize = 32000, HiddenSize = 512, Layers = 8, Heads = 8, KvHeads = 8, FeedForwardSize = 2048, ContextLength = 1024 };

    /// <summary>
    /// Null: a plain decoder (GroupQueryAttention; GenAI's Generator and static-batching Engine). Set: a paged decoder
    /// for the Engine's dynamic batching, with attention in plain ONNX ops (GenAI's PagedAttention has no CPU kernel).
    /// Both give the same tokens for the same weights.
    /// </summary>
    public PagedCacheSpec? Paged { get; init; }

    /// <summary>This spec's paged variant: same weights, a cache sized for <paramref name="numBlocks"/> blocks.</summary>
    public DemoModelSpec WithPagedCache(int numBlocks, int maxBatchSize = 16, int blockSize = 16, int maxScheduledTokens = 512) =>
        this with { Paged = new PagedCacheSpec { NumBlocks = numBlocks, MaxBatchSize = maxBatchSize, BlockSize = blockSize, MaxScheduledTokens = maxScheduledTokens } };

    public int HeadSize => HiddenSize / Heads;

    public void Validate()
    {
        if (VocabSize < ByteLevelTokenizer.MinVocabSize)
            throw new ArgumentOutOfRangeException(nameof(VocabSize), $"VocabSize must be at least {ByteLevelTokenizer.MinVocabSize}.");
        if (Heads <= 0 || HiddenSize % Heads != 0)
            throw new ArgumentOutOfRangeException(nameof(Heads), "HiddenSize must be a multiple of Heads.");
        if (KvHeads <= 0 || Heads % KvHeads != 0)
            throw new ArgumentOutOfRangeException(nameof(KvHeads), "Heads must be a multiple of KvHeads.");
        if (Layers <= 0 || FeedForwardSize <= 0 || ContextLength < 16)
            throw new ArgumentOutOfRangeException(nameof(Layers), "Layers, FeedForwardSize must be positive and ContextLength at least 16.");
        Paged?.Validate();
    }
}
