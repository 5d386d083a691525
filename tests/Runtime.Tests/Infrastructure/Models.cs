using LlmInfra.DemoModel;

namespace LlmInfra.Runtime.Tests.Infrastructure;

/// <summary>Models the tests generate once per run (deterministic, so a cached copy is as good as a fresh one).</summary>
public static class Models
{
    private static readonly string Root = Path.Combine(Path.GetTempPath(), "llm-infra-tests", "models");
    // End-of-text pushed out of reach so every reply runs to max_tokens and counts are exact.
    private static readonly Lazy<string> TinyDir = new(() => DemoModelWriter.EnsureCached(DemoModelSpec.Tiny with { EosLogitBias = -1000f }, Root));
    private static readonly Lazy<string> EosDir = new(() => DemoModelWriter.EnsureCached(DemoModelSpec.Tiny with { EosLogitBias = 1000f }, Root));

    // Same small layers, long context: a generation of thousands of tokens lasts long enough (seconds) to
    // observe a request while it is in flight (cancellation, queue full, drain).
    private static readonly Lazy<string> LongDir = new(() => DemoModelWriter.EnsureCached(
        DemoModelSpec.Tiny with { ContextLength = 8192, EosLogitBias = -1000f }, Root));

    // The paged variants: same weights, the GenAI Engine's dynamic batching (continuous batching, prefix cache).
    private static readonly Lazy<string> TinyPagedDir = new(() => DemoModelWriter.EnsureCached(
        DemoModelSpec.Tiny.WithPagedCache(numBlocks: 64) with { EosLogitBias = -1000f }, Root));
    private static readonly Lazy<string> LongPagedDir = new(() => DemoModelWriter.EnsureCached(
        DemoModelSpec.Tiny.WithPagedCache(numBlocks: 1024) with { ContextLength = 8192, EosLogitBias = -1000f }, Root));

    /// <summary><see cref="Tiny"/> as a paged model (64 blocks of 16 tokens): served by the GenAI Engine.</summary>
    public static string TinyPaged => TinyPagedDir.Value;

    /// <summary><see cref="Long"/> as a paged model (1024 blocks of 16 tokens).</summary>
    public static string LongPaged => LongPagedDir.Value;

    /// <summary>The long-context model the backend serves: plain (cohort scheduler) or paged (GenAI engine).</summary>
    public static string LongFor(Backend backend) => backend == Backend.Engine ? LongPaged : Long;

    /// <summary>vocab 512, hidden 64, 2 layers, context 256; never emits end-of-text.</summary>
    public static string Tiny => TinyDir.Value;

    /// <summary>Like <see cref="Tiny"/> but end-of-text always wins: every generation stops at once.</summary>
    public static string EosAtOnce => EosDir.Value;

    /// <summary>Like <see cref="Tiny"/> with an 8192-token context and no end-of-text.</summary>
    public static string Long => LongDir.Value;
}

/// <summary>The two generation backends: tests that hold for both run on each.</summary>
public enum Backend
{
    /// <summary>GenerationScheduler on a plain model.</summary>
    Scheduler,

    /// <summary>EngineBackend (GenAI's Engine, dynamic batching) on the paged variant of the same model.</summary>
    Engine,
}
