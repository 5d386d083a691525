using System.Text.Json;

namespace LlmInfra.Artifacts;

/// <summary>What <c>llm-model manifest</c> is told about a folder; the rest is read from it.</summary>
public sealed record ManifestRequest
{
    public required string Name { get; init; }
    public required string Version { get; init; }

    /// <summary>cpu or cuda; null reads it from genai_config.json (the provider options the model builder wrote).</summary>
    public string? ExecutionProvider { get; init; }

    public string? Source { get; init; }
    public string? BuilderCommand { get; init; }
}

/// <summary>Builds a manifest from a model folder: the GenAI config summary and every file's size and SHA-256.</summary>
public static class ManifestBuilder
{
    public const string GenAIConfigFile = "genai_config.json";

    public static async Task<ModelManifest> CreateAsync(string folder, ManifestRequest request, IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        var problems = new[]
        {
            ManifestRules.CheckName(request.Name, "--name"),
            ManifestRules.CheckName(request.Version, "--version"),
            request.ExecutionProvider is null ? null : ManifestRules.CheckExecutionProvider(request.ExecutionProvider),
        }.OfType<string>().ToList();
        if (problems.Count > 0) throw new ArtifactException(string.Join("; ", problems));
        if (!Directory.Exists(folder)) throw new ArtifactException($"model folder '{folder}' does not exist");

        var (summary, inferredProvider) = ReadGenAIConfig(folder);
        var paths = FolderFiles(folder);
        var entries = new ManifestEntry[paths.Count];
        // Hash files in parallel: large models are split over several external-data files.
        await Parallel.ForEachAsync(Enumerable.Range(0, paths.Count),
            new ParallelOptions { MaxDegreeOfParallelism = HashParallelism, CancellationToken = cancellationToken },
            async (i, ct) =>
            {
                var full = Path.Combine(folder, paths[i]);
                entries[i] = new ManifestEntry
                {
                    Path = paths[i],
                    Size = new FileInfo(full).Length,
                    Sha256 = await ArtifactDigest.HashFileAsync(full, progress, ct).ConfigureAwait(false),
                };
            }).ConfigureAwait(false);

        var source = request.Source is null && request.BuilderCommand is null ? null
            : new BuildSource { From = request.Source, BuilderCommand = request.BuilderCommand };
        return new ModelManifest
        {
            SchemaVersion = ModelManifest.CurrentSchemaVersion,
            Name = request.Name,
            Version = request.Version,
            ExecutionProvider = request.ExecutionProvider ?? inferredProvider,
            Model = summary,
            Source = source,
            Files = entries,
        };
    }

    /// <summary>Threads that hash at once: enough to keep fast storage busy, not every core of a serving node.</summary>
    internal static int HashParallelism => Math.Clamp(Environment.ProcessorCount, 1, 4);

    /// <summary>
    /// Every file under <paramref name="folder"/> as a manifest path, sorted ordinally, without the manifest itself and
    /// the fetch bookkeeping files. A path the manifest rules refuse (e.g. with a ':') fails here, naming it.
    /// </summary>
    public static List<string> FolderFiles(string folder)
    {
        var paths = new List<string>();
        foreach (var full in Directory.EnumerateFiles(folder, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }))
        {
            var relative = Path.GetRelativePath(folder, full).Replace(Path.DirectorySeparatorChar, '/');
            if (IsBookkeeping(relative)) continue;
            if (ManifestRules.CheckPath(relative) is { } problem) throw new ArtifactException($"{folder}: {problem}", relative);
            paths.Add(relative);
        }
        paths.Sort(StringComparer.Ordinal);
        return paths;
    }

    internal static bool IsBookkeeping(string relativePath) =>
        relativePath is ManifestFile.FileName || relativePath == FetchMarker.FileName
        || relativePath.EndsWith(FetchMarker.PartialSuffix, StringComparison.Ordinal);

    /// <summary>model.type, context_length and vocab_size, and the execution provider the builder configured.</summary>
    public static (ModelSummary Summary, string Provider) ReadGenAIConfig(string folder)
    {
        var path = Path.Combine(folder, GenAIConfigFile);
        if (!File.Exists(path)) throw new ArtifactException($"'{path}' does not exist: not an ONNX Runtime GenAI model folder", GenAIConfigFile);
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            if (!doc.RootElement.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object)
                throw new ArtifactException($"'{path}': no 'model' object", GenAIConfigFile);
            string Text(string key) => model.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()!
                : throw new ArtifactException($"'{path}': model.{key} is missing or not a string", GenAIConfigFile);
            int Number(string key) => model.TryGetProperty(key, out var v) && v.TryGetInt32(out var n) ? n
                : throw new ArtifactException($"'{path}': model.{key} is missing or not an integer", GenAIConfigFile);
            var summary = new ModelSummary { Type = Text("type"), ContextLength = Number("context_length"), VocabSize = Number("vocab_size") };
            return (summary, ConfiguredProvider(model, path));
        }
        catch (JsonException ex)
        {
            throw new ArtifactException($"'{path}' is not valid JSON: {ex.Message}", GenAIConfigFile, ex);
        }
    }

    /// <summary>
    /// The model builder writes the target provider into model.decoder.session_options.provider_options (e.g.
    /// [{"cuda": {...}}]); a CPU build lists none.
    /// </summary>
    private static string ConfiguredProvider(JsonElement model, string path)
    {
        if (!model.TryGetProperty("decoder", out var decoder) || !decoder.TryGetProperty("session_options", out var session)
            || !session.TryGetProperty("provider_options", out var providers) || providers.ValueKind != JsonValueKind.Array)
            return "cpu";
        var names = providers.EnumerateArray().Where(p => p.ValueKind == JsonValueKind.Object)
            .SelectMany(p => p.EnumerateObject().Select(o => o.Name)).ToList();
        if (names.Count == 0) return "cpu";
        if (names.Contains("cuda")) return "cuda";
        throw new ArtifactException(
            $"'{path}': the model is configured for provider '{names[0]}', which this runtime does not serve; give --execution-provider cpu|cuda to record another",
            GenAIConfigFile);
    }
}
