using System.Text;
using LlmInfra.Artifacts.Tests.Infrastructure;

namespace LlmInfra.Artifacts.Tests;

/// <summary>`llm-model manifest` and `verify` on local folders: the digest is stable, every kind of damage is named.</summary>
[Collection(StoreCollection.Name)]
public sealed class ManifestTests
{
    private static async Task<string> WriteManifestAsync(string dir, string version = "1.0.0")
    {
        var run = await ModelFolders.RunToolAsync("manifest", dir, "--name", "tiny", "--version", version,
            "--source", "example/tiny@0123abc", "--builder-command", "python -m onnxruntime_genai.models.builder -m example/tiny -p int4 -e cpu -o out");
        Assert.True(run.Code == 0, run.ToString());
        return run.Output.Trim();
    }

    [Fact]
    public async Task Manifest_lists_every_file_with_size_and_sha256_and_prints_the_digest_of_its_bytes()
    {
        var dir = ModelFolders.NewModel();
        var digest = await WriteManifestAsync(dir);

        Assert.True(ArtifactDigest.IsValid(digest), digest);
        var bytes = File.ReadAllBytes(Path.Combine(dir, ManifestFile.FileName));
        Assert.Equal(ArtifactDigest.Of(bytes), digest);
        var manifest = ManifestFile.Parse(bytes, "test").Manifest;
        Assert.Equal(("tiny", "1.0.0", "cpu"), (manifest.Name, manifest.Version, manifest.ExecutionProvider));
        Assert.Equal(("llama", 256, 512), (manifest.Model.Type, manifest.Model.ContextLength, manifest.Model.VocabSize));
        Assert.Equal("example/tiny@0123abc", manifest.Source?.From);
        var files = Directory.GetFiles(dir).Select(Path.GetFileName).Where(f => f != ManifestFile.FileName).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(files, manifest.Files.Select(f => f.Path));
        var config = manifest.Files.Single(f => f.Path == "genai_config.json");
        Assert.Equal(new FileInfo(Path.Combine(dir, "genai_config.json")).Length, config.Size);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(Path.Combine(dir, "genai_config.json")))), config.Sha256);
        // Canonical text: LF line ends, ending in a newline, no timestamp that would change the digest.
        var text = Encoding.UTF8.GetString(bytes);
        Assert.DoesNotContain("\r", text);
        Assert.EndsWith("}\n", text);
    }

    [Fact]
    public async Task The_same_folder_gives_the_same_digest_and_another_content_another()
    {
        var a = ModelFolders.NewModel();
        var b = ModelFolders.NewModel();
        var first = await WriteManifestAsync(a);
        Assert.Equal(first, await WriteManifestAsync(a)); // rewriting over an existing manifest
        Assert.Equal(first, await WriteManifestAsync(b)); // a copy elsewhere
        Assert.NotEqual(first, await WriteManifestAsync(b, "1.0.1"));
        ModelFolders.CorruptOneByte(Path.Combine(a, "model.onnx"));
        Assert.NotEqual(first, await WriteManifestAsync(a));
    }

    [Fact]
    public async Task Verify_passes_an_intact_folder_and_checks_the_digest()
    {
        var dir = ModelFolders.NewModel();
        var digest = await WriteManifestAsync(dir);
        var ok = await ModelFolders.RunToolAsync("verify", dir, "--digest", digest);
        Assert.True(ok.Code == 0, ok.ToString());
        Assert.Equal(digest, ok.Output.Trim());

        var wrong = "sha256:" + new string('0', 64);
        var refused = await ModelFolders.RunToolAsync("verify", dir, "--digest", wrong);
        Assert.Equal(1, refused.Code);
        Assert.Contains(ManifestFile.FileName, refused.ErrorLine);
        Assert.Contains(digest, refused.ErrorLine);
        Assert.Contains(wrong, refused.ErrorLine);
    }

    [Fact]
    public async Task A_corrupted_byte_fails_verify_naming_the_file_but_passes_sizes_only()
    {
        var dir = ModelFolders.NewModel();
        await WriteManifestAsync(dir);
        ModelFolders.CorruptOneByte(Path.Combine(dir, "model.onnx"));

        var full = await ModelFolders.RunToolAsync("verify", dir);
        Assert.Equal(1, full.Code);
        Assert.StartsWith("error: model file '", full.ErrorLine);
        Assert.Contains($"{Path.Combine(dir, "model.onnx")}': SHA-256 ", full.ErrorLine);
        Assert.Single(full.Error.Split('\n'), l => l.StartsWith("error:", StringComparison.Ordinal));

        var sizes = await ModelFolders.RunToolAsync("verify", dir, "--sizes-only");
        Assert.True(sizes.Code == 0, sizes.ToString());
    }

    [Fact]
    public async Task A_missing_a_truncated_and_an_extra_file_are_each_named()
    {
        var dir = ModelFolders.NewModel();
        await WriteManifestAsync(dir);

        File.Move(Path.Combine(dir, "tokenizer.json"), Path.Combine(dir, "..", $"moved-{Guid.NewGuid():N}"));
        var missing = await ModelFolders.RunToolAsync("verify", dir, "--sizes-only");
        Assert.Equal(1, missing.Code);
        Assert.Contains("tokenizer.json': missing", missing.ErrorLine);

        var other = ModelFolders.NewModel();
        await WriteManifestAsync(other);
        using (var f = new FileStream(Path.Combine(other, "model.onnx"), FileMode.Open)) f.SetLength(f.Length - 1);
        var truncated = await ModelFolders.RunToolAsync("verify", other, "--sizes-only");
        Assert.Equal(1, truncated.Code);
        Assert.Matches(@"model\.onnx': size \d+ bytes, manifest says \d+", truncated.ErrorLine);

        var third = ModelFolders.NewModel();
        await WriteManifestAsync(third);
        File.WriteAllText(Path.Combine(third, "evil.onnx"), "x");
        var extra = await ModelFolders.RunToolAsync("verify", third);
        Assert.Equal(1, extra.Code);
        Assert.Contains("evil.onnx': not in the manifest", extra.ErrorLine);
    }

    [Theory]
    [InlineData("../escape.bin")]
    [InlineData("/etc/passwd")]
    [InlineData("a/./b")]
    [InlineData("a\\b")]
    [InlineData("C:x")]
    [InlineData(ManifestFile.FileName)]
    [InlineData(FetchMarker.FileName)]
    public void Manifests_with_paths_outside_the_folder_or_reserved_names_are_refused(string path)
    {
        var json = $$"""
            {"schemaVersion":1,"name":"m","version":"1","executionProvider":"cpu","model":{"type":"llama","contextLength":8,"vocabSize":8},
             "files":[{"path":{{System.Text.Json.JsonSerializer.Serialize(path)}},"size":1,"sha256":"{{new string('a', 64)}}"}]}
            """;
        var ex = Assert.Throws<ArtifactException>(() => ManifestFile.Parse(Encoding.UTF8.GetBytes(json), "store://m/1"));
        Assert.Contains("store://m/1: invalid model manifest", ex.Message);
        Assert.Contains(path, ex.Message);
    }

    [Fact]
    public void Malformed_and_future_manifests_are_refused_with_the_reason()
    {
        var notJson = Assert.Throws<ArtifactException>(() => ManifestFile.Parse("{"u8.ToArray(), "x"));
        Assert.Contains("not a valid model manifest", notJson.Message);
        var noFiles = Assert.Throws<ArtifactException>(() => ManifestFile.Parse(
            """{"schemaVersion":1,"name":"m","version":"1","executionProvider":"cpu","model":{"type":"llama","contextLength":8,"vocabSize":8}}"""u8.ToArray(), "x"));
        Assert.Contains("files", noFiles.Message);
        var future = Assert.Throws<ArtifactException>(() => ManifestFile.Parse(
            """{"schemaVersion":2,"name":"m","version":"1","executionProvider":"cpu","model":{"type":"llama","contextLength":8,"vocabSize":8},"files":[]}"""u8.ToArray(), "x"));
        Assert.Contains("schemaVersion 2 is not supported", future.Message);
    }

    [Theory]
    [InlineData("--name", "bad name")]
    [InlineData("--version", "../1")]
    [InlineData("--execution-provider", "dml")]
    public async Task Bad_manifest_options_are_named(string option, string value)
    {
        var dir = ModelFolders.NewModel();
        var args = new Dictionary<string, string> { ["--name"] = "tiny", ["--version"] = "1", [option] = value };
        var run = await ModelFolders.RunToolAsync(["manifest", dir, .. args.SelectMany(a => new[] { a.Key, a.Value })]);
        Assert.Equal(1, run.Code);
        Assert.Contains(option == "--execution-provider" ? "execution provider" : option, run.ErrorLine);
        Assert.False(File.Exists(Path.Combine(dir, ManifestFile.FileName)));
    }

    [Fact]
    public async Task A_folder_without_genai_config_is_not_a_model()
    {
        var dir = ModelFolders.NewEmptyFolder();
        File.WriteAllText(Path.Combine(dir, "model.onnx"), "x");
        var run = await ModelFolders.RunToolAsync("manifest", dir, "--name", "m", "--version", "1");
        Assert.Equal(1, run.Code);
        Assert.Contains("genai_config.json' does not exist: not an ONNX Runtime GenAI model folder", run.ErrorLine);
    }

    [Fact]
    public async Task The_execution_provider_is_read_from_the_builders_provider_options()
    {
        var dir = ModelFolders.NewModel();
        var config = Path.Combine(dir, "genai_config.json");
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(config))!;
        json["model"]!["decoder"]!["session_options"] = new System.Text.Json.Nodes.JsonObject
        {
            ["provider_options"] = new System.Text.Json.Nodes.JsonArray(new System.Text.Json.Nodes.JsonObject { ["cuda"] = new System.Text.Json.Nodes.JsonObject() }),
        };
        File.WriteAllText(config, json.ToJsonString());
        await WriteManifestAsync(dir);
        Assert.Equal("cuda", ManifestFile.Read(dir).Manifest.ExecutionProvider);
    }

    [Fact]
    public async Task Usage_errors_exit_2()
    {
        Assert.Equal(2, (await ModelFolders.RunToolAsync("manifest", "x")).Code); // --name, --version missing
        Assert.Equal(2, (await ModelFolders.RunToolAsync("verify", ".", "--digest", "md5:abc")).Code);
        Assert.Equal(2, (await ModelFolders.RunToolAsync("fetch", "--from", "s3://b/m", "--version", "1", "--digest", "sha256:12", "--to", "x")).Code);
        var badStore = await ModelFolders.RunToolAsync("publish", ".", "--to", "ftp://host/m");
        Assert.Equal(2, badStore.Code);
        Assert.Contains("not a store URI", badStore.Error);
    }
}
