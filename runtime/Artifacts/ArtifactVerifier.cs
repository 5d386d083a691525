namespace LlmInfra.Artifacts;

public enum VerifyMode
{
    /// <summary>Sizes and SHA-256 of every file.</summary>
    Full,

    /// <summary>Sizes only (cheap; catches partial copies, not same-size tampering).</summary>
    SizesOnly,
}

/// <summary>Checks a folder against its manifest: every listed file present with its size (and hash), nothing else.</summary>
public static class ArtifactVerifier
{
    /// <summary>Throws <see cref="ArtifactException"/> naming the first bad file (and how many more there are).</summary>
    public static async Task VerifyAsync(string folder, ModelManifest manifest, VerifyMode mode, IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        if (!Directory.Exists(folder)) throw new ArtifactException($"model folder '{folder}' does not exist");
        var problems = new List<(string File, string Problem)>();

        // Cheap checks first, for every file: a partial copy fails in milliseconds, not after hashing gigabytes.
        var listed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in manifest.Files)
        {
            listed.Add(entry.Path);
            var info = new FileInfo(Path.Combine(folder, entry.Path));
            if (!info.Exists) problems.Add((entry.Path, "missing"));
            else if (info.Length != entry.Size) problems.Add((entry.Path, $"size {info.Length} bytes, manifest says {entry.Size}"));
        }
        foreach (var path in ManifestBuilder.FolderFiles(folder))
            if (!listed.Contains(path)) problems.Add((path, "not in the manifest"));
        Throw(folder, problems);

        if (mode == VerifyMode.SizesOnly) return;
        var mismatches = new System.Collections.Concurrent.ConcurrentBag<(int Index, string File, string Problem)>();
        var files = manifest.Files;
        await Parallel.ForEachAsync(Enumerable.Range(0, files.Count),
            new ParallelOptions { MaxDegreeOfParallelism = ManifestBuilder.HashParallelism, CancellationToken = cancellationToken },
            async (i, ct) =>
            {
                var actual = await ArtifactDigest.HashFileAsync(Path.Combine(folder, files[i].Path), progress, ct).ConfigureAwait(false);
                if (actual != files[i].Sha256)
                    mismatches.Add((i, files[i].Path, $"SHA-256 {actual}, manifest says {files[i].Sha256}"));
            }).ConfigureAwait(false);
        Throw(folder, [.. mismatches.OrderBy(m => m.Index).Select(m => (m.File, m.Problem))]);
    }

    private static void Throw(string folder, List<(string File, string Problem)> problems)
    {
        if (problems.Count == 0) return;
        var (file, problem) = problems[0];
        var more = problems.Count > 1 ? $" (and {problems.Count - 1} more: {string.Join(", ", problems.Skip(1).Take(5).Select(p => p.File))})" : "";
        throw new ArtifactException($"model file '{Path.Combine(folder, file)}': {problem}{more}", file);
    }
}
