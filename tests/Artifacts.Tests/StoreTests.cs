using Amazon.S3.Model;
using LlmInfra.Artifacts.Stores;
using LlmInfra.Artifacts.Tests.Infrastructure;

namespace LlmInfra.Artifacts.Tests;

/// <summary>
/// publish and fetch through `llm-model` against a real S3-compatible server and the real Azure Storage emulator:
/// each way an artifact can be wrong ends in exit 1, a line naming the file, and a target folder that is never marked
/// complete (so nothing is served from it).
/// </summary>
[Collection(StoreCollection.Name)]
public sealed class StoreTests(StoreServers stores)
{
    public static TheoryData<string> Kinds => ["s3", "azure"];

    private sealed record Published(string Model, string Prefix, string Digest, string Folder);

    private async Task<Published> PublishAsync(string kind, long extraBytes = 0)
    {
        var model = $"tiny-{Guid.NewGuid():N}"[..20];
        var folder = ModelFolders.NewModel(extraBytes);
        var manifest = await ModelFolders.RunToolAsync("manifest", folder, "--name", model, "--version", "1.0.0");
        Assert.True(manifest.Code == 0, manifest.ToString());
        var prefix = stores.Prefix(kind, $"models/{model}");
        var publish = await ModelFolders.RunToolAsync("publish", folder, "--to", prefix, "--endpoint", stores.Endpoint(kind).ToString());
        Assert.True(publish.Code == 0, publish.ToString());
        Assert.Equal(manifest.Output.Trim(), publish.Output.Trim());
        return new Published(model, prefix, publish.Output.Trim(), folder);
    }

    private Task<ToolRun> FetchAsync(string kind, Published p, string target, string? digest = null, string version = "1.0.0") =>
        ModelFolders.RunToolAsync("fetch", "--from", p.Prefix, "--version", version, "--digest", digest ?? p.Digest, "--to", target,
            "--endpoint", stores.Endpoint(kind).ToString());

    private static void AssertNotComplete(string target)
    {
        Assert.Null(FetchMarker.Read(target));
        Assert.False(File.Exists(Path.Combine(target, ManifestFile.FileName)), "the manifest is written only with the marker");
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Publish_then_fetch_gives_the_same_files_verified_and_marked_complete(string kind)
    {
        var p = await PublishAsync(kind);
        var target = Path.Combine(ModelFolders.NewEmptyFolder(), "model");

        var fetch = await FetchAsync(kind, p, target);

        Assert.True(fetch.Code == 0, fetch.ToString());
        Assert.Equal(p.Digest, fetch.Output.Trim());
        Assert.Equal(p.Digest, FetchMarker.Read(target));
        foreach (var file in Directory.GetFiles(p.Folder))
            Assert.Equal(File.ReadAllBytes(file), File.ReadAllBytes(Path.Combine(target, Path.GetFileName(file))));
        var verify = await ModelFolders.RunToolAsync("verify", target, "--digest", p.Digest);
        Assert.True(verify.Code == 0, verify.ToString());

        // A restarted init container finds the folder complete and does not download again.
        var again = await FetchAsync(kind, p, target);
        Assert.True(again.Code == 0, again.ToString());
        Assert.Contains("already complete", again.Error);

        // A complete folder that lost a file since is repaired, not trusted.
        File.Delete(Path.Combine(target, "tokenizer.json"));
        var repaired = await FetchAsync(kind, p, target);
        Assert.True(repaired.Code == 0, repaired.ToString());
        Assert.Contains("no longer is", repaired.Error);
        Assert.Equal(File.ReadAllBytes(Path.Combine(p.Folder, "tokenizer.json")), File.ReadAllBytes(Path.Combine(target, "tokenizer.json")));
        Assert.Equal(p.Digest, FetchMarker.Read(target));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Publishing_an_existing_version_is_refused(string kind)
    {
        var p = await PublishAsync(kind);
        var again = await ModelFolders.RunToolAsync("publish", p.Folder, "--to", p.Prefix, "--endpoint", stores.Endpoint(kind).ToString());
        Assert.Equal(1, again.Code);
        Assert.Contains("version '1.0.0' already exists", again.ErrorLine);
        Assert.Contains($"{p.Model}/1.0.0/{ManifestFile.FileName}", again.ErrorLine);
        Assert.Contains("publish under a new --version", again.ErrorLine);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_wrong_digest_downloads_nothing(string kind)
    {
        var p = await PublishAsync(kind);
        var target = ModelFolders.NewEmptyFolder();
        var wrong = "sha256:" + new string('e', 64);

        var fetch = await FetchAsync(kind, p, target, digest: wrong);

        Assert.Equal(1, fetch.Code);
        Assert.Contains($"{p.Model}/1.0.0/{ManifestFile.FileName} has digest {p.Digest}, expected {wrong}", fetch.ErrorLine);
        Assert.Empty(Directory.EnumerateFileSystemEntries(target));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_missing_version_is_named(string kind)
    {
        var p = await PublishAsync(kind);
        var fetch = await FetchAsync(kind, p, ModelFolders.NewEmptyFolder(), version: "9.9.9");
        Assert.Equal(1, fetch.Code);
        Assert.Contains("version '9.9.9' does not exist", fetch.ErrorLine);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_corrupted_byte_in_the_store_is_caught_naming_the_file_and_the_folder_stays_incomplete(string kind)
    {
        var p = await PublishAsync(kind);
        var tampered = Path.Combine(ModelFolders.NewEmptyFolder(), "model.onnx");
        File.Copy(Path.Combine(p.Folder, "model.onnx"), tampered);
        ModelFolders.CorruptOneByte(tampered);
        await ReplaceObjectAsync(kind, $"models/{p.Model}/1.0.0/model.onnx", tampered);
        var target = ModelFolders.NewEmptyFolder();

        var fetch = await FetchAsync(kind, p, target);

        Assert.Equal(1, fetch.Code);
        Assert.Contains($"{Path.Combine(target, "model.onnx")}': SHA-256 ", fetch.ErrorLine);
        AssertNotComplete(target);
        Assert.False(File.Exists(Path.Combine(target, "model.onnx")), "a file that failed its hash is removed, so a retry downloads it again");
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_file_missing_from_the_store_is_named_and_the_folder_stays_incomplete(string kind)
    {
        var p = await PublishAsync(kind);
        await DeleteObjectAsync(kind, $"models/{p.Model}/1.0.0/tokenizer.json");
        var target = ModelFolders.NewEmptyFolder();

        var fetch = await FetchAsync(kind, p, target);

        Assert.Equal(1, fetch.Code);
        Assert.Contains($"{p.Model}/1.0.0/tokenizer.json: 404", fetch.ErrorLine);
        AssertNotComplete(target);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_folder_that_does_not_match_its_manifest_is_not_published(string kind)
    {
        var folder = ModelFolders.NewModel();
        Assert.Equal(0, (await ModelFolders.RunToolAsync("manifest", folder, "--name", "tiny", "--version", "1")).Code);
        ModelFolders.CorruptOneByte(Path.Combine(folder, "tokenizer.json"));
        var prefix = stores.Prefix(kind, $"models/unpublished-{Guid.NewGuid():N}");

        var publish = await ModelFolders.RunToolAsync("publish", folder, "--to", prefix, "--endpoint", stores.Endpoint(kind).ToString());

        Assert.Equal(1, publish.Code);
        Assert.Contains("tokenizer.json': SHA-256", publish.ErrorLine);
        using var store = Open(kind, prefix);
        Assert.Null(await store.StatAsync($"1/{ManifestFile.FileName}", default));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task An_interrupted_multipart_publish_resumes_with_the_parts_it_had_not_sent(string kind)
    {
        const long part = 5L << 20; // S3's smallest part
        var folder = ModelFolders.NewModel(extraBytes: 4 * part + 12345);
        Assert.Equal(0, (await ModelFolders.RunToolAsync("manifest", folder, "--name", "big", "--version", "1")).Code);
        var prefix = stores.Prefix(kind, $"models/big-{Guid.NewGuid():N}");
        var options = new StoreOptions { Endpoint = stores.Endpoint(kind), PartSize = part, Concurrency = 1, StateDirectory = ModelFolders.NewEmptyFolder() };
        var total = ManifestFile.Read(folder).Manifest.TotalBytes;

        // Cancel once two parts of the big file have gone up.
        using var cancel = new CancellationTokenSource();
        var first = new Reporter((phase, done) => { if (phase == "upload" && done >= 2 * part) cancel.Cancel(); });
        using (var store = ArtifactStore.Open(prefix, options))
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new ArtifactTransfer(store, first).PublishAsync(folder, cancel.Token));
        using (var store = ArtifactStore.Open(prefix, options))
            Assert.Null(await store.StatAsync($"1/{ManifestFile.FileName}", default)); // not visible before it is whole

        TransferResult result;
        using (var store = ArtifactStore.Open(prefix, options))
            result = await new ArtifactTransfer(store, new Reporter((_, _) => { })).PublishAsync(folder);
        var manifestBytes = new FileInfo(Path.Combine(folder, ManifestFile.FileName)).Length;
        Assert.True(result.BytesTransferred <= total + manifestBytes - 2 * part, $"sent {result.BytesTransferred} of {total}: the uploaded parts were sent again");

        var target = ModelFolders.NewEmptyFolder();
        var fetch = await ModelFolders.RunToolAsync("fetch", "--from", prefix, "--version", "1", "--digest", result.Artifact.Digest, "--to", target,
            "--endpoint", stores.Endpoint(kind).ToString());
        Assert.True(fetch.Code == 0, fetch.ToString());
        Assert.Equal(File.ReadAllBytes(Path.Combine(folder, "model.onnx.data")), File.ReadAllBytes(Path.Combine(target, "model.onnx.data")));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task An_interrupted_fetch_resumes_the_partial_file_and_keeps_finished_ones(string kind)
    {
        var p = await PublishAsync(kind, extraBytes: 3L << 20);
        var target = ModelFolders.NewEmptyFolder();
        // What a killed init container leaves: finished files and a partial one, no marker.
        File.Copy(Path.Combine(p.Folder, "model.onnx"), Path.Combine(target, "model.onnx"));
        var data = File.ReadAllBytes(Path.Combine(p.Folder, "model.onnx.data"));
        File.WriteAllBytes(Path.Combine(target, "model.onnx.data" + FetchMarker.PartialSuffix), data[..(data.Length / 2)]);
        var manifest = ManifestFile.Read(p.Folder).Manifest;

        TransferResult result;
        using (var store = ArtifactStore.Open(p.Prefix, new StoreOptions { Endpoint = stores.Endpoint(kind) }))
            result = await new ArtifactTransfer(store, new Reporter((_, _) => { })).FetchAsync("1.0.0", p.Digest, target);

        var skipped = new FileInfo(Path.Combine(p.Folder, "model.onnx")).Length + data.Length / 2;
        Assert.True(result.BytesTransferred <= manifest.TotalBytes - skipped + 4096, $"received {result.BytesTransferred} of {manifest.TotalBytes}");
        Assert.Equal(data, File.ReadAllBytes(Path.Combine(target, "model.onnx.data")));
        Assert.Equal(p.Digest, FetchMarker.Read(target));
        Assert.Empty(Directory.GetFiles(target, "*" + FetchMarker.PartialSuffix));
    }

    [Fact]
    public async Task A_target_holding_other_files_is_refused()
    {
        var p = await PublishAsync("s3");
        var target = ModelFolders.NewEmptyFolder();
        File.WriteAllText(Path.Combine(target, "notes.txt"), "mine");
        var fetch = await FetchAsync("s3", p, target);
        Assert.Equal(1, fetch.Code);
        Assert.Contains("notes.txt", fetch.ErrorLine);
        Assert.Contains("fetch into an empty folder", fetch.ErrorLine);
        Assert.Equal("mine", File.ReadAllText(Path.Combine(target, "notes.txt")));
    }

    private IArtifactStore Open(string kind, string prefix) => ArtifactStore.Open(prefix, new StoreOptions { Endpoint = stores.Endpoint(kind) });

    private async Task ReplaceObjectAsync(string kind, string key, string file)
    {
        if (kind == "s3")
        {
            using var s3 = stores.S3Client();
            await s3.PutObjectAsync(new PutObjectRequest { BucketName = StoreServers.Bucket, Key = key, FilePath = file, UseChunkEncoding = false });
        }
        else
            await stores.AzureContainer().GetBlobClient(key).UploadAsync(file, overwrite: true);
    }

    private async Task DeleteObjectAsync(string kind, string key)
    {
        if (kind == "s3")
        {
            using var s3 = stores.S3Client();
            await s3.DeleteObjectAsync(StoreServers.Bucket, key);
        }
        else
            await stores.AzureContainer().GetBlobClient(key).DeleteAsync();
    }

    /// <summary>Counts bytes as the transfer reports them; <paramref name="onBytes"/> sees the phase and its running total.</summary>
    private sealed class Reporter(Action<string, long> onBytes) : ITransferReporter, IProgress<long>
    {
        private long _done;
        private string _phase = "";
        public IProgress<long> Bytes => this;

        public void Phase(string name, long totalBytes)
        {
            _phase = name;
            Interlocked.Exchange(ref _done, 0);
        }

        public void Report(long value) => onBytes(_phase, Interlocked.Add(ref _done, value));

        public void Note(string message)
        {
        }
    }
}
