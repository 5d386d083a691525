using System.Net;
using LlmInfra.Artifacts;
using LlmInfra.DemoModel;
using LlmInfra.Runtime.Hosting;
using LlmInfra.Runtime.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LlmInfra.Runtime.Tests;

/// <summary>
/// The runtime verifies a model artifact before it loads it: a folder with a manifest is checked (sizes always,
/// SHA-256 unless --skip-verify), --model-digest pins the manifest, and any mismatch refuses to start with one line
/// naming the file, with nothing loaded. A verified model reports its version and digest and its start-up phases.
/// </summary>
public sealed class ArtifactLoadTests : IDisposable
{
    private const string Version = "2026.12.04-1";

    /// <summary>This test's folders (model copies, key files), removed afterwards.</summary>
    private readonly string _root = Directory.CreateTempSubdirectory("llm-artifact-load-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string NewFolder() => Directory.CreateDirectory(Path.Combine(_root, Guid.NewGuid().ToString("N"))).FullName;

    /// <summary>A fresh copy of the tiny model with a manifest; returns the folder and the digest.</summary>
    private async Task<(string Dir, string Digest)> NewArtifactAsync()
    {
        var dir = NewFolder();
        DemoModelWriter.Write(DemoModelSpec.Tiny with { EosLogitBias = -1000f }, dir);
        var manifest = await ManifestBuilder.CreateAsync(dir, new ManifestRequest { Name = "tiny", Version = Version });
        return (dir, ManifestFile.Write(dir, manifest));
    }

    private static void FlipByte(string path)
    {
        var bytes = File.ReadAllBytes(path);
        bytes[bytes.Length / 2] ^= 1;
        File.WriteAllBytes(path, bytes);
    }

    /// <summary>Starts the app and waits for the load to finish, either way; the caller disposes it.</summary>
    private static async Task<WebApplication> StartAsync(string dir, Dictionary<string, string?> extra, LogCapture? logs = null)
    {
        var keys = Path.Combine(dir, "..", $"keys-{Guid.NewGuid():N}.txt");
        await File.WriteAllTextAsync(keys, "sk-artifact-test\n");
        var settings = new Dictionary<string, string?>
        {
            ["urls"] = "http://127.0.0.1:0",
            ["Runtime:Model"] = dir,
            ["Runtime:ModelName"] = "tiny",
            ["Runtime:ApiKeysFile"] = keys,
        };
        foreach (var (k, v) in extra) settings[k] = v;
        var app = RuntimeApp.Create([], settings, b =>
        {
            b.Logging.SetMinimumLevel(LogLevel.Information);
            if (logs is not null) b.Services.AddSingleton<ILoggerProvider>(logs);
        });
        await app.StartAsync();
        await app.Services.GetRequiredService<ModelHost>().Loaded;
        return app;
    }

    /// <summary>Ready, or a failure that says why (the start-up error).</summary>
    private static void AssertReady(ModelHost host) =>
        Assert.True(host.State == ServingState.Ready, $"state {host.State}: {host.StartupError}");

    private static async Task<string> RefusedAsync(string dir, Dictionary<string, string?>? extra = null)
    {
        await using var app = await StartAsync(dir, extra ?? []);
        var host = app.Services.GetRequiredService<ModelHost>();
        Assert.Equal(ServingState.Failed, host.State);
        Assert.Null(host.Scheduler); // nothing loaded
        Assert.Null(host.Artifact);
        Assert.DoesNotContain('\n', host.StartupError!);
        return host.StartupError!;
    }

    [Fact]
    public async Task A_verified_artifact_serves_with_its_version_digest_and_startup_phases()
    {
        var (dir, digest) = await NewArtifactAsync();
        var logs = new LogCapture();
        await using var app = await StartAsync(dir, new() { ["Runtime:ModelDigest"] = digest }, logs);
        var host = app.Services.GetRequiredService<ModelHost>();
        AssertReady(host);
        Assert.Equal(digest, host.Artifact?.Digest);

        using var client = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
        client.DefaultRequestHeaders.Authorization = new("Bearer", "sk-artifact-test");
        using (var models = await client.GetAsync("/v1/models")) Assert.Equal(HttpStatusCode.OK, models.StatusCode);
        var metrics = await client.ScrapeAsync();

        Assert.Equal(1, MetricsText.Value(metrics, $"llm_model_info{{model=\"tiny\",version=\"{Version}\",digest=\"{digest}\"}}"));
        foreach (var phase in new[] { StartupPhase.Verify, StartupPhase.Load, StartupPhase.FirstToken, StartupPhase.Total })
            Assert.True(MetricsText.Value(metrics, $"llm_startup_phase_seconds{{model=\"tiny\",phase=\"{phase}\"}}") > 0, phase);
        var phases = host.StartupPhases;
        Assert.True(phases[StartupPhase.Total] >= phases[StartupPhase.Verify] + phases[StartupPhase.Load] + phases[StartupPhase.FirstToken]);
        Assert.Contains(logs.Entries, e => e.Message.StartsWith("access ", StringComparison.Ordinal) && e.Message.Contains($"version={Version} "));
        Assert.Contains(logs.Entries, e => e.Message.StartsWith($"Verified tiny {Version} ({digest})", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_corrupted_byte_refuses_to_start_naming_the_file()
    {
        var (dir, digest) = await NewArtifactAsync();
        FlipByte(Path.Combine(dir, "model.onnx"));
        var error = await RefusedAsync(dir, new() { ["Runtime:ModelDigest"] = digest });
        Assert.StartsWith($"Runtime:Model (--model): model file '{Path.Combine(dir, "model.onnx")}': SHA-256 ", error);
    }

    [Fact]
    public async Task A_folder_with_a_manifest_is_verified_even_without_a_digest()
    {
        var (dir, _) = await NewArtifactAsync();
        FlipByte(Path.Combine(dir, "tokenizer.json"));
        Assert.Contains($"'{Path.Combine(dir, "tokenizer.json")}': SHA-256", await RefusedAsync(dir));
    }

    [Fact]
    public async Task A_missing_file_refuses_to_start_naming_it()
    {
        var (dir, digest) = await NewArtifactAsync();
        File.Delete(Path.Combine(dir, "tokenizer_config.json"));
        var error = await RefusedAsync(dir, new() { ["Runtime:ModelDigest"] = digest, ["Runtime:SkipVerify"] = "true" });
        Assert.Equal($"Runtime:Model (--model): model file '{Path.Combine(dir, "tokenizer_config.json")}': missing", error);
    }

    [Fact]
    public async Task A_wrong_digest_refuses_to_start_naming_the_option_and_both_digests()
    {
        var (dir, digest) = await NewArtifactAsync();
        var wrong = "sha256:" + new string('a', 64);
        var error = await RefusedAsync(dir, new() { ["Runtime:ModelDigest"] = wrong });
        Assert.Equal($"Runtime:ModelDigest (--model-digest): '{Path.Combine(dir, ManifestFile.FileName)}' has digest {digest}, expected {wrong}", error);
    }

    [Fact]
    public async Task A_digest_for_a_folder_without_a_manifest_is_refused()
    {
        var dir = NewFolder();
        DemoModelWriter.Write(DemoModelSpec.Tiny, dir);
        var error = await RefusedAsync(dir, new() { ["Runtime:ModelDigest"] = "sha256:" + new string('b', 64) });
        Assert.StartsWith("Runtime:ModelDigest (--model-digest): ", error);
        Assert.Contains("is not a verified model artifact", error);
    }

    [Fact]
    public async Task Skip_verify_still_checks_sizes_but_not_hashes()
    {
        var (dir, digest) = await NewArtifactAsync();
        // demo-model.json is not read by the engine: a same-size change there loads fine once hashes are skipped.
        FlipByte(Path.Combine(dir, "demo-model.json"));
        await using (var app = await StartAsync(dir, new() { ["Runtime:ModelDigest"] = digest, ["Runtime:SkipVerify"] = "true" }))
            AssertReady(app.Services.GetRequiredService<ModelHost>());
        Assert.Contains("demo-model.json': SHA-256", await RefusedAsync(dir, new() { ["Runtime:ModelDigest"] = digest }));

        File.AppendAllText(Path.Combine(dir, "demo-model.json"), " ");
        Assert.Contains("demo-model.json': size ", await RefusedAsync(dir, new() { ["Runtime:ModelDigest"] = digest, ["Runtime:SkipVerify"] = "true" }));
    }

    [Fact]
    public async Task A_folder_without_a_manifest_still_serves_with_empty_version_and_digest()
    {
        await using var server = await RuntimeServer.StartAsync();
        Assert.Null(server.Host.Artifact);
        var metrics = await server.Client.ScrapeAsync();
        Assert.Equal(1, MetricsText.Value(metrics, "llm_model_info{model=\"tiny\",version=\"\",digest=\"\"}"));
        Assert.True(MetricsText.Value(metrics, "llm_startup_phase_seconds{model=\"tiny\",phase=\"verify\"}") >= 0);
        Assert.True(server.Host.StartupPhases.ContainsKey(StartupPhase.FirstToken));
    }
}
