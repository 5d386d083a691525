using System.Text.Json;
using System.Text.Json.Nodes;

namespace LlmInfra.Engine;

/// <summary>
/// The <c>engine.dynamic_batching</c> section of a model's genai_config.json. Its presence means the model is paged
/// (GenAI's Engine then batches continuously over a paged KV cache); the runtime serves such a model with
/// <see cref="EngineBackend"/> and any other with <see cref="GenerationScheduler"/>.
/// </summary>
public sealed record PagedEngineConfig(int BlockSize, int NumBlocks, int MaxBatchSize, int MaxScheduledTokens)
{
    /// <summary>GenAI's defaults for the keys a config may leave out (config.h, 0.18.0).</summary>
    private const int DefaultBlockSize = 256, DefaultMaxBatchSize = 16, DefaultMaxScheduledTokens = 2048;

    /// <summary>KV slots in the pool: the most tokens all admitted requests may hold together.</summary>
    public int TotalTokens => BlockSize * NumBlocks;

    /// <summary>Blocks a request of this many tokens (prompt plus generated) can occupy.</summary>
    public int BlocksFor(int tokens) => (tokens + BlockSize - 1) / BlockSize;

    /// <summary>Reads the section from a model folder; null when the model is not configured for dynamic batching.</summary>
    public static PagedEngineConfig? Read(string modelDirectory)
    {
        var path = Path.Combine(modelDirectory, "genai_config.json");
        if (!File.Exists(path)) return null; // LlmModel.Load says what is missing
        JsonNode? section;
        try
        {
            section = JsonNode.Parse(File.ReadAllText(path))?["engine"]?["dynamic_batching"];
        }
        catch (JsonException ex)
        {
            throw new ModelLoadException($"{path} is not valid JSON: {ex.Message}", ex);
        }
        if (section is null) return null;
        try
        {
            var numBlocks = section["num_blocks"]?.GetValue<int>()
                ?? throw new ModelLoadException($"{path}: engine.dynamic_batching.num_blocks is required (the runtime bounds admission by KV blocks).");
            var config = new PagedEngineConfig(
                section["block_size"]?.GetValue<int>() ?? DefaultBlockSize,
                numBlocks,
                section["max_batch_size"]?.GetValue<int>() ?? DefaultMaxBatchSize,
                section["max_scheduled_tokens"]?.GetValue<int>() ?? DefaultMaxScheduledTokens);
            if (config.BlockSize < 1 || config.NumBlocks < 1 || config.MaxBatchSize < 1 || config.MaxScheduledTokens < 1)
                throw new ModelLoadException($"{path}: engine.dynamic_batching block_size, num_blocks, max_batch_size and max_scheduled_tokens must be positive.");
            return config;
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException)
        {
            throw new ModelLoadException($"{path}: engine.dynamic_batching values must be integers: {ex.Message}", ex);
        }
    }
}
