using System.Text.Json.Serialization;
using System.Text.RegularExpressions;

namespace LlmInfra.Artifacts;

/// <summary>
/// <c>model-manifest.json</c>: what a model artifact is (name, version, GenAI config summary, the execution provider it
/// was built for, where it was built from) and every file it holds with its size and SHA-256. The SHA-256 of the
/// manifest file's bytes is the artifact's digest; <see cref="ManifestFile"/> writes it canonically, so one folder
/// always gives one digest. Property order here is the order in the file.
/// </summary>
public sealed record ModelManifest
{
    /// <summary>The format this code reads and writes; a newer one is refused rather than half-understood.</summary>
    public const int CurrentSchemaVersion = 1;

    public required int SchemaVersion { get; init; }
    public required string Name { get; init; }
    public required string Version { get; init; }

    /// <summary>cpu or cuda: what the model builder targeted (the runtime's --provider).</summary>
    public required string ExecutionProvider { get; init; }

    public required ModelSummary Model { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public BuildSource? Source { get; init; }

    /// <summary>Sorted by path (ordinal), so the same folder always serializes the same way.</summary>
    public required IReadOnlyList<ManifestEntry> Files { get; init; }

    [JsonIgnore]
    public long TotalBytes => Files.Sum(f => f.Size);
}

/// <summary>The part of genai_config.json a reader of the manifest needs without opening the model.</summary>
public sealed record ModelSummary
{
    public required string Type { get; init; }
    public required int ContextLength { get; init; }
    public required int VocabSize { get; init; }
}

/// <summary>Where the model was built from, e.g. a Hugging Face repository at a revision, and the builder command.</summary>
public sealed record BuildSource
{
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? From { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? BuilderCommand { get; init; }
}

/// <summary>One file of the artifact: its path relative to the folder ('/' separated), size in bytes and SHA-256 (hex).</summary>
public sealed record ManifestEntry
{
    public required string Path { get; init; }
    public required long Size { get; init; }
    public required string Sha256 { get; init; }
}

/// <summary>The rules a manifest must follow, checked when one is written and when one is read (it may come from a store).</summary>
public static partial class ManifestRules
{
    public const string ExecutionProviders = "cpu|cuda";

    /// <summary>Names and versions become path segments in stores and caches: letters, digits, '.', '_', '-'.</summary>
    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")]
    private static partial Regex NamePattern();

    [GeneratedRegex("^[0-9a-f]{64}$")]
    private static partial Regex HexPattern();

    public static string? CheckName(string? value, string what) =>
        value is not null && NamePattern().IsMatch(value) ? null
        : $"{what} must be 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit (got '{value}')";

    public static string? CheckExecutionProvider(string? value) =>
        value is "cpu" or "cuda" ? null : $"execution provider must be 'cpu' or 'cuda' (got '{value}')";

    /// <summary>
    /// A path that stays inside the folder: relative, '/' separated, no empty, '.' or '..' segment, no backslash or
    /// control character. A manifest from a store is untrusted input; fetch writes to these paths.
    /// </summary>
    public static string? CheckPath(string? path)
    {
        if (string.IsNullOrEmpty(path)) return "a file path is empty";
        if (path.Length > 1024) return $"file path '{path[..64]}...' is longer than 1024 characters";
        if (path.StartsWith('/') || path.Contains('\\') || path.Any(char.IsControl) || path.Contains(':'))
            return $"file path '{path}' must be relative, '/' separated, without ':' or '\\'";
        if (path.Split('/').Any(s => s is "" or "." or ".."))
            return $"file path '{path}' has an empty, '.' or '..' segment";
        if (path is ManifestFile.FileName || path == FetchMarker.FileName || path.EndsWith(FetchMarker.PartialSuffix, StringComparison.Ordinal))
            return $"file path '{path}' is reserved";
        return null;
    }

    /// <summary>Every problem with <paramref name="m"/>, empty when it is valid.</summary>
    public static IReadOnlyList<string> Problems(ModelManifest m)
    {
        var problems = new List<string>();
        void Add(string? problem)
        {
            if (problem is not null) problems.Add(problem);
        }
        if (m.SchemaVersion != ModelManifest.CurrentSchemaVersion)
            problems.Add($"schemaVersion {m.SchemaVersion} is not supported (this tool reads {ModelManifest.CurrentSchemaVersion})");
        Add(CheckName(m.Name, "name"));
        Add(CheckName(m.Version, "version"));
        Add(CheckExecutionProvider(m.ExecutionProvider));
        if (string.IsNullOrWhiteSpace(m.Model.Type)) problems.Add("model.type is empty");
        if (m.Model.ContextLength <= 0) problems.Add($"model.contextLength must be positive (got {m.Model.ContextLength})");
        if (m.Model.VocabSize <= 0) problems.Add($"model.vocabSize must be positive (got {m.Model.VocabSize})");
        if (m.Files.Count == 0) problems.Add("files is empty");
        string? previous = null;
        foreach (var f in m.Files)
        {
            Add(CheckPath(f.Path));
            if (f.Size < 0) problems.Add($"file '{f.Path}': size is negative");
            if (f.Sha256 is null || !HexPattern().IsMatch(f.Sha256)) problems.Add($"file '{f.Path}': sha256 must be 64 lowercase hex digits");
            if (previous is not null && string.CompareOrdinal(previous, f.Path) >= 0)
                problems.Add($"files must be sorted by path without duplicates ('{previous}' then '{f.Path}')");
            previous = f.Path;
        }
        return problems;
    }
}
