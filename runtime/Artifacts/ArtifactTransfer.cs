using LlmInfra.Artifacts.Stores;

namespace LlmInfra.Artifacts;

/// <summary>What a transfer tells whoever watches it: phases, files skipped or resumed, and bytes moved.</summary>
public interface ITransferReporter
{
    /// <summary>A new phase with the bytes it will move or hash (e.g. "verify", "upload", "download").</summary>
    void Phase(string name, long totalBytes);

    IProgress<long> Bytes { get; }

    void Note(string message);
}

/// <summary>What a publish or fetch did: the artifact, and the bytes that actually crossed the network.</summary>
public sealed record TransferResult(SignedManifest Artifact, long BytesTransferred, bool AlreadyComplete = false);

/// <summary>Publishes a verified folder to a store and fetches a pinned version back, verified.</summary>
public sealed class ArtifactTransfer(IArtifactStore store, ITransferReporter reporter)
{
    private static string ManifestKey(string version) => $"{version}/{ManifestFile.FileName}";

    /// <summary>
    /// Uploads <paramref name="folder"/> to <c>&lt;prefix&gt;/&lt;version&gt;/</c>, the manifest last: a version is
    /// visible only once every file is there. Refuses a folder that does not match its manifest and a version that
    /// exists. Files an interrupted run already uploaded (same SHA-256) are skipped; parts of a large file resume.
    /// </summary>
    public async Task<TransferResult> PublishAsync(string folder, CancellationToken cancellationToken = default)
    {
        var signed = ManifestFile.Read(folder);
        var manifest = signed.Manifest;
        reporter.Phase("verify", manifest.TotalBytes);
        await ArtifactVerifier.VerifyAsync(folder, manifest, VerifyMode.Full, reporter.Bytes, cancellationToken).ConfigureAwait(false);

        var manifestKey = ManifestKey(manifest.Version);
        if (await store.StatAsync(manifestKey, cancellationToken).ConfigureAwait(false) is not null)
            throw VersionExists(manifest.Version, manifestKey);

        reporter.Phase("upload", manifest.TotalBytes);
        long sent = 0;
        foreach (var file in manifest.Files)
        {
            var key = $"{manifest.Version}/{file.Path}";
            if (await store.StatAsync(key, cancellationToken).ConfigureAwait(false) is { } remote && remote.Size == file.Size && remote.Sha256 == file.Sha256)
            {
                reporter.Note($"{file.Path}: already uploaded");
                reporter.Bytes.Report(file.Size);
                continue;
            }
            sent += await store.UploadAsync(Path.Combine(folder, file.Path), key, file.Size, file.Sha256, reporter.Bytes, cancellationToken).ConfigureAwait(false);
        }
        if (!await store.CreateAsync(manifestKey, signed.Bytes, cancellationToken).ConfigureAwait(false))
            throw VersionExists(manifest.Version, manifestKey);
        return new TransferResult(signed, sent + signed.Bytes.Length);
    }

    private ArtifactException VersionExists(string version, string manifestKey) =>
        new($"version '{version}' already exists ({store.Describe(manifestKey)}): versions are immutable, publish under a new --version", ManifestFile.FileName);

    /// <summary>
    /// Downloads exactly <paramref name="version"/> into <paramref name="target"/>: the manifest first, refused unless
    /// its digest is <paramref name="digest"/>; then every file (a partial file from an interrupted run continues where
    /// it stopped); then every file's size and SHA-256 against the manifest. Only then are the manifest and the
    /// completion marker written. A folder already complete with this digest is checked (sizes) and kept.
    /// </summary>
    public async Task<TransferResult> FetchAsync(string version, string digest, string target, CancellationToken cancellationToken = default)
    {
        if (ManifestRules.CheckName(version, "--version") is { } bad) throw new ArtifactException(bad);
        if (!ArtifactDigest.IsValid(digest)) throw new ArtifactException($"--digest must be {ArtifactDigest.Format} (got '{digest}')");
        Directory.CreateDirectory(target);

        if (FetchMarker.Read(target) is { } completed)
        {
            if (completed == digest)
            {
                try
                {
                    var local = ManifestFile.Read(target, digest);
                    await ArtifactVerifier.VerifyAsync(target, local.Manifest, VerifyMode.SizesOnly, cancellationToken: cancellationToken).ConfigureAwait(false);
                    reporter.Note($"{target}: already complete ({digest})");
                    return new TransferResult(local, 0, AlreadyComplete: true);
                }
                catch (ArtifactException ex)
                {
                    reporter.Note($"{target} was complete but no longer is ({ex.Message}); repairing");
                }
            }
            FetchMarker.Clear(target);
        }

        var manifestKey = ManifestKey(version);
        var bytes = await store.ReadAllAsync(manifestKey, cancellationToken).ConfigureAwait(false)
            ?? throw new ArtifactException($"version '{version}' does not exist: {store.Describe(manifestKey)} not found", ManifestFile.FileName);
        var actual = ArtifactDigest.Of(bytes);
        if (actual != digest)
            throw new ArtifactException(
                $"{store.Describe(manifestKey)} has digest {actual}, expected {digest}: the store holds another artifact than the one pinned",
                ManifestFile.FileName);
        var signed = ManifestFile.Parse(bytes, store.Describe(manifestKey));
        var manifest = signed.Manifest;
        if (manifest.Version != version)
            throw new ArtifactException($"{store.Describe(manifestKey)} says version '{manifest.Version}', expected '{version}'", ManifestFile.FileName);

        var listed = manifest.Files.Select(f => f.Path).ToHashSet(StringComparer.Ordinal);
        var strangers = ManifestBuilder.FolderFiles(target).Where(p => !listed.Contains(p)).ToList();
        if (strangers.Count > 0)
            throw new ArtifactException($"'{target}' holds files that are not part of {manifest.Name} {version} ({string.Join(", ", strangers.Take(5))}): fetch into an empty folder", strangers[0]);

        reporter.Phase("download", manifest.TotalBytes);
        long received = bytes.Length;
        foreach (var file in manifest.Files)
            received += await DownloadFileAsync(version, file, target, cancellationToken).ConfigureAwait(false);

        reporter.Phase("verify", manifest.TotalBytes);
        try
        {
            await ArtifactVerifier.VerifyAsync(target, manifest, VerifyMode.Full, reporter.Bytes, cancellationToken).ConfigureAwait(false);
        }
        catch (ArtifactException ex) when (ex.File is not null)
        {
            // The next attempt downloads this file again instead of trusting it.
            File.Delete(Path.Combine(target, ex.File));
            throw;
        }
        AtomicFile.Write(Path.Combine(target, ManifestFile.FileName), bytes);
        FetchMarker.Write(target, digest);
        return new TransferResult(signed, received);
    }

    /// <summary>Downloads one file (or the rest of it) and returns the bytes received.</summary>
    private async Task<long> DownloadFileAsync(string version, ManifestEntry file, string target, CancellationToken cancellationToken)
    {
        var destination = Path.Combine(target, file.Path);
        if (File.Exists(destination) && new FileInfo(destination).Length == file.Size)
        {
            reporter.Bytes.Report(file.Size); // kept from an interrupted run; hashed with the rest below
            return 0;
        }
        Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
        var partial = destination + FetchMarker.PartialSuffix;
        var offset = File.Exists(partial) ? new FileInfo(partial).Length : 0;
        if (offset > file.Size) offset = 0;
        if (offset > 0) reporter.Note($"{file.Path}: resuming at byte {offset}");
        reporter.Bytes.Report(offset);
        var key = $"{version}/{file.Path}";
        await using (var stream = new FileStream(partial, offset > 0 ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20, FileOptions.Asynchronous))
        {
            if (offset < file.Size)
                await store.DownloadAsync(key, offset, stream, reporter.Bytes, cancellationToken).ConfigureAwait(false);
            await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
            if (stream.Length != file.Size)
            {
                var length = stream.Length;
                await stream.DisposeAsync().ConfigureAwait(false);
                File.Delete(partial);
                throw new ArtifactException($"{store.Describe(key)}: got {length} bytes, manifest says {file.Size}", file.Path);
            }
        }
        File.Move(partial, destination, overwrite: true);
        return file.Size - offset;
    }
}
