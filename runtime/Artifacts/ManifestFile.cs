using System.Text.Encodings.Web;
using System.Text.Json;

namespace LlmInfra.Artifacts;

/// <summary>A manifest as read: the parsed record, its exact bytes and their digest.</summary>
public sealed record SignedManifest(ModelManifest Manifest, byte[] Bytes, string Digest);

/// <summary>Reads and writes <c>model-manifest.json</c>.</summary>
public static class ManifestFile
{
    public const string FileName = "model-manifest.json";

    // Canonical form: camelCase in declaration order, two-space indent, '\n' line ends on every OS, ASCII-only
    // (other characters escaped), a final newline. Same manifest, same bytes, same digest.
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        IndentSize = 2,
        NewLine = "\n",
        Encoder = JavaScriptEncoder.Default,
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
    };

    public static byte[] Serialize(ModelManifest manifest)
    {
        var problems = ManifestRules.Problems(manifest);
        if (problems.Count > 0) throw new ArtifactException($"invalid manifest: {string.Join("; ", problems)}");
        return [.. JsonSerializer.SerializeToUtf8Bytes(manifest, Options), (byte)'\n'];
    }

    /// <summary>Parses manifest bytes from <paramref name="origin"/> (a path or URI, for messages) and checks the rules.</summary>
    public static SignedManifest Parse(byte[] bytes, string origin)
    {
        ModelManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<ModelManifest>(bytes, Options);
        }
        catch (JsonException ex)
        {
            throw new ArtifactException($"{origin}: not a valid model manifest: {ex.Message}", FileName, ex);
        }
        if (manifest is null) throw new ArtifactException($"{origin}: not a valid model manifest: null", FileName);
        var problems = ManifestRules.Problems(manifest);
        if (problems.Count > 0) throw new ArtifactException($"{origin}: invalid model manifest: {string.Join("; ", problems)}", FileName);
        return new SignedManifest(manifest, bytes, ArtifactDigest.Of(bytes));
    }

    /// <summary>
    /// Reads the manifest in <paramref name="folder"/>; with <paramref name="expectedDigest"/>, refuses a manifest whose
    /// digest differs (checked on the bytes before they are parsed).
    /// </summary>
    public static SignedManifest Read(string folder, string? expectedDigest = null)
    {
        var path = Path.Combine(folder, FileName);
        if (!File.Exists(path))
            throw new ArtifactException(expectedDigest is null
                ? $"'{path}' does not exist"
                : $"'{path}' does not exist, but a digest ({expectedDigest}) was given: the folder is not a verified model artifact", FileName);
        var bytes = File.ReadAllBytes(path);
        var digest = ArtifactDigest.Of(bytes);
        if (expectedDigest is not null && digest != expectedDigest)
            throw new ArtifactException($"'{path}' has digest {digest}, expected {expectedDigest}", FileName);
        return Parse(bytes, path);
    }

    /// <summary>Writes the manifest into <paramref name="folder"/> (atomically) and returns its digest.</summary>
    public static string Write(string folder, ModelManifest manifest)
    {
        var bytes = Serialize(manifest);
        AtomicFile.Write(Path.Combine(folder, FileName), bytes);
        return ArtifactDigest.Of(bytes);
    }
}

/// <summary>Writes small files so a reader sees the old content or the new one, never a torn mix.</summary>
public static class AtomicFile
{
    public static void Write(string path, ReadOnlySpan<byte> bytes)
    {
        var temp = path + FetchMarker.PartialSuffix;
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            stream.Write(bytes);
            stream.Flush(flushToDisk: true);
        }
        File.Move(temp, path, overwrite: true);
    }
}
