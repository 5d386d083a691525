using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.ML.OnnxRuntimeGenAI;

namespace LlmInfra.Engine;

/// <summary>A loaded ONNX Runtime GenAI model with its tokenizer and chat template. Thread-safe for reads.</summary>
public sealed class LlmModel : IDisposable
{
    private readonly Config _config;

    private LlmModel(EngineOptions options, Config config, Model model, Tokenizer tokenizer, int contextLength, int[] eosTokenIds)
    {
        Options = options;
        _config = config;
        Model = model;
        Tokenizer = tokenizer;
        ContextLength = contextLength;
        EosTokenIds = eosTokenIds;
    }

    public EngineOptions Options { get; }
    public int ContextLength { get; }
    public IReadOnlyList<int> EosTokenIds { get; }
    /// <summary>The underlying GenAI model, for custom loops (the benchmark's raw baseline uses it). Owned by this object.</summary>
    public Model Model { get; }

    /// <summary>The underlying GenAI tokenizer. Owned by this object.</summary>
    public Tokenizer Tokenizer { get; }

    /// <summary>Loads a model folder; failures become <see cref="ModelLoadException"/> with a message that says what is missing.</summary>
    public static LlmModel Load(EngineOptions options)
    {
        // Full path, so that every message says which folder was checked.
        var dir = Path.GetFullPath(options.ModelPath);
        if (!Directory.Exists(dir))
            throw new ModelLoadException($"Model folder '{dir}' does not exist.");
        var configPath = Path.Combine(dir, "genai_config.json");
        if (!File.Exists(configPath))
            throw new ModelLoadException($"Model folder '{dir}' has no genai_config.json; it is not an ONNX Runtime GenAI model folder.");
        foreach (var required in new[] { "tokenizer.json", "tokenizer_config.json" })
        {
            if (!File.Exists(Path.Combine(dir, required)))
                throw new ModelLoadException($"Model folder '{dir}' has no {required}.");
        }

        var (contextLength, eos) = ReadConfig(configPath);
        Config? config = null;
        Model? model = null;
        try
        {
            config = new Config(dir);
            config.ClearProviders();
            config.AppendProvider(options.Provider);
            if (options.IntraOpThreads is int threads)
                config.Overlay("{\"model\":{\"decoder\":{\"session_options\":{\"intra_op_num_threads\":" + threads + "}}}}");
            model = new Model(config);
            var tokenizer = new Tokenizer(model);
            WarmUpGuidance(model, contextLength);
            return new LlmModel(options, config, model, tokenizer, contextLength, eos);
        }
        catch (OnnxRuntimeGenAIException ex)
        {
            model?.Dispose();
            config?.Dispose();
            throw new ModelLoadException(ProviderHint(options.Provider, ex.Message), ex);
        }
    }

    /// <summary>
    /// The first guided generator of a model builds GenAI's guidance index of its vocabulary: 0.6 to 1.1 s for a
    /// 32,000-token vocabulary on this project's 2-core machine, under 2 ms for each one after. Paying it at load
    /// keeps it off the first structured-output request. A model whose tokenizer the guidance cannot index still
    /// serves unguided requests; guided ones then report the error themselves.
    /// </summary>
    private static void WarmUpGuidance(Model model, int contextLength)
    {
        try
        {
            using var generatorParams = new GeneratorParams(model);
            generatorParams.SetSearchOption("max_length", Math.Min(16, contextLength));
            generatorParams.SetGuidance("json_schema", "{\"type\":\"object\"}", false);
            using var generator = new Generator(model, generatorParams);
        }
        catch (OnnxRuntimeGenAIException)
        {
        }
    }

    private static string ProviderHint(string provider, string error) => provider switch
    {
        "cuda" => $"Could not load the model with execution provider 'cuda': {error}. The CUDA provider needs the " +
                  "Microsoft.ML.OnnxRuntimeGenAI.Cuda package (build with -p:GenAIFlavor=cuda), the CUDA 12 and cuDNN 9 " +
                  "runtime libraries on the library path, and an NVIDIA GPU visible to the process. Use --provider cpu otherwise.",
        _ => $"Could not load the model with execution provider '{provider}': {error}",
    };

    private static (int ContextLength, int[] Eos) ReadConfig(string path)
    {
        try
        {
            var root = JsonNode.Parse(File.ReadAllText(path))?["model"];
            var context = root?["context_length"]?.GetValue<int>() ?? throw new ModelLoadException($"{path}: model.context_length is missing.");
            var eosNode = root["eos_token_id"];
            int[] eos = eosNode switch
            {
                JsonArray a => a.Select(n => n!.GetValue<int>()).ToArray(),
                JsonValue v => [v.GetValue<int>()],
                _ => [],
            };
            return (context, eos);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
        {
            throw new ModelLoadException($"{path} is not valid: {ex.Message}", ex);
        }
    }

    /// <summary>Token ids of a text, without special-token handling beyond the tokenizer's own.</summary>
    public int[] Encode(string text)
    {
        using var sequences = Tokenizer.Encode(text);
        return sequences[0].ToArray();
    }

    public string Decode(ReadOnlySpan<int> tokens) => Tokenizer.Decode(tokens);

    /// <summary>Renders messages with the model's chat template (from tokenizer_config.json), ending with the assistant prompt.</summary>
    /// <param name="toolsJson">The tool definitions as a JSON array (OpenAI's "tools"), handed to the template as `tools`; null for none.</param>
    public string ApplyChatTemplate(IReadOnlyList<ChatMessage> messages, string? toolsJson = null) =>
        Tokenizer.ApplyChatTemplate(null, MessagesJson(messages), toolsJson, true);

    /// <summary>
    /// Messages in the form Hugging Face chat templates read: tool calls as {id, type, function: {name, arguments}}
    /// with the arguments as an object (templates render them with tojson), tool results with their tool_call_id.
    /// </summary>
    public static string MessagesJson(IReadOnlyList<ChatMessage> messages)
    {
        var array = new JsonArray();
        foreach (var m in messages)
        {
            var message = new JsonObject { ["role"] = m.Role, ["content"] = m.Content };
            if (m.ToolCalls is { Count: > 0 } calls)
            {
                message["tool_calls"] = new JsonArray(calls.Select(c => (JsonNode)new JsonObject
                {
                    ["id"] = c.Id,
                    ["type"] = "function",
                    ["function"] = new JsonObject { ["name"] = c.Name, ["arguments"] = JsonNode.Parse(c.ArgumentsJson) },
                }).ToArray());
            }
            if (m.ToolCallId is { } id) message["tool_call_id"] = id;
            array.Add(message);
        }
        return array.ToJsonString();
    }

    public void Dispose()
    {
        Tokenizer.Dispose();
        Model.Dispose();
        _config.Dispose();
    }
}
