using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Protobuf;

namespace LlmInfra.DemoModel;

/// <summary>Writes a complete ONNX Runtime GenAI model folder for a <see cref="DemoModelSpec"/>.</summary>
public static class DemoModelWriter
{
    private const string MarkerFile = "demo-model.json";

    /// <summary>Writes the model into <paramref name="directory"/> (created if missing), replacing what is there.</summary>
    public static void Write(DemoModelSpec spec, string directory)
    {
        spec.Validate();
        Directory.CreateDirectory(directory);
        var model = DecoderGraph.Build(spec);
        using (var file = File.Create(Path.Combine(directory, "model.onnx")))
            model.WriteTo(file);
        var (tokenizer, tokenizerConfig) = ByteLevelTokenizer.Build(spec.VocabSize);
        File.WriteAllText(Path.Combine(directory, "tokenizer.json"), tokenizer);
        File.WriteAllText(Path.Combine(directory, "tokenizer_config.json"), tokenizerConfig);
        File.WriteAllText(Path.Combine(directory, "genai_config.json"), GenAiConfig(spec));
        // Written last: its presence means the folder is complete.
        File.WriteAllText(Path.Combine(directory, MarkerFile), Fingerprint(spec));
    }

    /// <summary>
    /// Returns a cached folder for the spec under <paramref name="cacheRoot"/>, generating it on first use.
    /// Generation is deterministic, so a cached folder is reused only when its fingerprint matches.
    /// </summary>
    public static string EnsureCached(DemoModelSpec spec, string cacheRoot)
    {
        var fingerprint = Fingerprint(spec);
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(fingerprint)))[..12];
        var directory = Path.Combine(cacheRoot, $"demo-{hash}");
        var marker = Path.Combine(directory, MarkerFile);
        if (File.Exists(marker) && File.ReadAllText(marker) == fingerprint)
            return directory;

        // Build beside the target and move into place so a concurrent reader never sees half a model.
        var staging = $"{directory}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
        try
        {
            Write(spec, staging);
            if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true); // incomplete leftover
            Directory.Move(staging, directory);
        }
        catch (IOException) when (File.Exists(marker))
        {
            // another process won the race with identical bytes
        }
        finally
        {
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        }
        return directory;
    }

    public static string DefaultCacheRoot() =>
        Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create) is { Length: > 0 } local
            ? local
            : Path.GetTempPath(), "llm-infra", "models");

    private static string Fingerprint(DemoModelSpec spec) => JsonSerializer.Serialize(spec) + "|format=2"; // 2: the chat template renders tools

    private static string GenAiConfig(DemoModelSpec s)
    {
        var eos = ByteLevelTokenizer.EosId;
        var config = new JsonObject
        {
            ["model"] = new JsonObject
            {
                ["type"] = "llama",
                ["bos_token_id"] = eos,
                ["eos_token_id"] = new JsonArray(eos),
                ["pad_token_id"] = eos,
                ["vocab_size"] = s.VocabSize,
                ["context_length"] = s.ContextLength,
                ["decoder"] = new JsonObject
                {
                    ["session_options"] = new JsonObject { ["log_id"] = "onnxruntime-genai", ["provider_options"] = new JsonArray() },
                    ["filename"] = "model.onnx",
                    ["head_size"] = s.HeadSize,
                    ["hidden_size"] = s.HiddenSize,
                    ["num_attention_heads"] = s.Heads,
                    ["num_key_value_heads"] = s.KvHeads,
                    ["num_hidden_layers"] = s.Layers,
                    ["inputs"] = s.Paged is null
                        ? new JsonObject
                        {
                            ["input_ids"] = "input_ids",
                            ["attention_mask"] = "attention_mask",
                            ["position_ids"] = "position_ids",
                            ["past_key_names"] = "past_key_values.%d.key",
                            ["past_value_names"] = "past_key_values.%d.value",
                        }
                        : new JsonObject
                        {
                            ["input_ids"] = "input_ids",
                            ["cumulative_sequence_lengths"] = "cumulative_sequence_lengths",
                            ["past_sequence_lengths"] = "past_sequence_lengths",
                            ["block_table"] = "block_table",
                            ["past_key_names"] = "past_key_values.%d.key",
                            ["past_value_names"] = "past_key_values.%d.value",
                        },
                    ["outputs"] = new JsonObject
                    {
                        ["logits"] = "logits",
                        ["present_key_names"] = "present.%d.key",
                        ["present_value_names"] = "present.%d.value",
                    },
                },
            },
            ["search"] = new JsonObject
            {
                ["do_sample"] = false,
                ["max_length"] = s.ContextLength,
                ["min_length"] = 0,
                ["num_beams"] = 1,
                ["num_return_sequences"] = 1,
                ["past_present_share_buffer"] = true,
                ["repetition_penalty"] = 1.0,
                ["temperature"] = 1.0,
                ["top_k"] = 50,
                ["top_p"] = 1.0,
            },
        };
        if (s.Paged is { } paged)
        {
            // GenAI's Engine reads this section: with it, continuous batching over a paged KV cache (prefix caching on).
            config["engine"] = new JsonObject
            {
                ["dynamic_batching"] = new JsonObject
                {
                    ["block_size"] = paged.BlockSize,
                    ["num_blocks"] = paged.NumBlocks,
                    ["max_batch_size"] = paged.MaxBatchSize,
                    ["max_scheduled_tokens"] = paged.MaxScheduledTokens,
                },
            };
        }
        return config.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }
}
