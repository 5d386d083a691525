using System.CommandLine;
using LlmInfra.Artifacts;
using LlmInfra.Artifacts.Stores;

namespace LlmInfra.ModelTool;

/// <summary>
/// <c>llm-model manifest|verify|publish|fetch</c>. Exit codes: 0 done, 1 the artifact or the store said no (a
/// mismatch, a missing file, an existing version; one line on stderr naming the file or object), 2 bad usage.
/// Standard output carries only results (the digest), so scripts can capture it; progress goes to stderr.
/// </summary>
public static class ModelToolCommand
{
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken = default)
    {
        var root = new RootCommand("Model artifacts for the LLM runtime: write a manifest, verify a folder, publish to and fetch from S3 or Azure Blob.");
        root.Subcommands.Add(ManifestCommand(output, error));
        root.Subcommands.Add(VerifyCommand(output, error));
        root.Subcommands.Add(PublishCommand(output, error));
        root.Subcommands.Add(FetchCommand(output, error));

        var parsed = root.Parse(args);
        var exit = await parsed.InvokeAsync(new InvocationConfiguration { Output = output, Error = error }, cancellationToken).ConfigureAwait(false);
        return parsed.Errors.Count > 0 ? 2 : exit;
    }

    private static Argument<string> FolderArgument(string description) => new("folder") { Description = description };

    private static Command ManifestCommand(TextWriter output, TextWriter error)
    {
        var folder = FolderArgument("Model folder (genai_config.json, *.onnx, tokenizer files).");
        var name = new Option<string>("--name") { Description = "Model name, e.g. llama-3.1-8b-instruct-int4.", Required = true };
        var version = new Option<string>("--version") { Description = "Artifact version, e.g. 2026-12-04.1 (immutable once published).", Required = true };
        var provider = new Option<string>("--execution-provider") { Description = "cpu or cuda; default: read from genai_config.json.", HelpName = "cpu|cuda" };
        var source = new Option<string>("--source") { Description = "What the model was built from, e.g. meta-llama/Llama-3.1-8B-Instruct@<revision>." };
        var builder = new Option<string>("--builder-command") { Description = "The model builder command that produced the folder." };
        var command = new Command("manifest", $"Write <folder>/{ManifestFile.FileName} (every file's size and SHA-256) and print its digest.")
        {
            folder, name, version, provider, source, builder,
        };
        command.SetAction((parse, ct) => Guard(error, async () =>
        {
            var dir = Path.GetFullPath(parse.GetValue(folder)!);
            var request = new ManifestRequest
            {
                Name = parse.GetValue(name)!,
                Version = parse.GetValue(version)!,
                ExecutionProvider = parse.GetValue(provider),
                Source = parse.GetValue(source),
                BuilderCommand = parse.GetValue(builder),
            };
            using var progress = new ProgressPrinter(error);
            progress.Phase("hash", FolderBytes(dir));
            var manifest = await ManifestBuilder.CreateAsync(dir, request, progress.Bytes, ct).ConfigureAwait(false);
            var digest = ManifestFile.Write(dir, manifest);
            progress.Done($"{manifest.Files.Count} files, {ProgressPrinter.Size(manifest.TotalBytes)}: {Path.Combine(dir, ManifestFile.FileName)}");
            await output.WriteLineAsync(digest).ConfigureAwait(false);
            return 0;
        }));
        return command;
    }

    private static Command VerifyCommand(TextWriter output, TextWriter error)
    {
        var folder = FolderArgument("Model folder holding model-manifest.json.");
        var digest = new Option<string>("--digest") { Description = $"Expected manifest digest, {ArtifactDigest.Format}." };
        var sizesOnly = new Option<bool>("--sizes-only") { Description = "Check presence and sizes, not SHA-256 (fast; catches partial copies)." };
        var command = new Command("verify", "Check a folder against its manifest (and the manifest against a digest).") { folder, digest, sizesOnly };
        command.SetAction((parse, ct) => Guard(error, async () =>
        {
            var dir = Path.GetFullPath(parse.GetValue(folder)!);
            var expected = parse.GetValue(digest);
            if (expected is not null && !ArtifactDigest.IsValid(expected))
                return Usage(error, $"--digest must be {ArtifactDigest.Format} (got '{expected}')");
            var signed = ManifestFile.Read(dir, expected);
            var mode = parse.GetValue(sizesOnly) ? VerifyMode.SizesOnly : VerifyMode.Full;
            using var progress = new ProgressPrinter(error);
            progress.Phase(mode == VerifyMode.Full ? "verify" : "sizes", mode == VerifyMode.Full ? signed.Manifest.TotalBytes : 0);
            await ArtifactVerifier.VerifyAsync(dir, signed.Manifest, mode, progress.Bytes, ct).ConfigureAwait(false);
            progress.Done($"{signed.Manifest.Name} {signed.Manifest.Version}: {signed.Manifest.Files.Count} files OK ({(mode == VerifyMode.Full ? "sizes and SHA-256" : "sizes")})");
            await output.WriteLineAsync(signed.Digest).ConfigureAwait(false);
            return 0;
        }));
        return command;
    }

    private static (Option<string> Endpoint, Option<string> Region) StoreOptions() => (
        new Option<string>("--endpoint") { Description = "Store endpoint instead of the cloud's: an S3-compatible server (path-style), or the Azure blob service URL (emulators).", HelpName = "url" },
        new Option<string>("--region") { Description = "AWS region of the bucket; default AWS_REGION / the profile.", HelpName = "region" });

    private static Command PublishCommand(TextWriter output, TextWriter error)
    {
        var folder = FolderArgument("Model folder with its manifest (run `manifest` first).");
        var to = new Option<string>("--to") { Description = "The model's prefix: s3://bucket/models/<name> or https://<account>.blob.core.windows.net/<container>/models/<name>.", Required = true, HelpName = "prefix" };
        var (endpoint, region) = StoreOptions();
        var command = new Command("publish", "Upload the folder to <prefix>/<version>/ (refused when that version exists; resumes an interrupted upload).")
        {
            folder, to, endpoint, region,
        };
        command.SetAction((parse, ct) => Guard(error, async () =>
        {
            var dir = Path.GetFullPath(parse.GetValue(folder)!);
            if (OpenStore(parse.GetValue(to)!, parse.GetValue(endpoint), parse.GetValue(region), error) is not { } store) return 2;
            using (store)
            {
                using var progress = new ProgressPrinter(error);
                var result = await new ArtifactTransfer(store, progress).PublishAsync(dir, ct).ConfigureAwait(false);
                var m = result.Artifact.Manifest;
                progress.Done($"published {m.Name} {m.Version} to {store.Describe(m.Version + "/")} ({ProgressPrinter.Size(result.BytesTransferred)} sent)");
                await output.WriteLineAsync(result.Artifact.Digest).ConfigureAwait(false);
            }
            return 0;
        }));
        return command;
    }

    private static Command FetchCommand(TextWriter output, TextWriter error)
    {
        var from = new Option<string>("--from") { Description = "The model's prefix (as given to publish).", Required = true, HelpName = "prefix" };
        var version = new Option<string>("--version") { Description = "The version to fetch.", Required = true };
        var digest = new Option<string>("--digest") { Description = $"The manifest digest the stack pins, {ArtifactDigest.Format}.", Required = true };
        var to = new Option<string>("--to") { Description = "Target folder (created; resumed when a previous fetch was interrupted).", Required = true, HelpName = "dir" };
        var (endpoint, region) = StoreOptions();
        var command = new Command("fetch", $"Download exactly one version, verify every file, then mark the folder complete ({FetchMarker.FileName}).")
        {
            from, version, digest, to, endpoint, region,
        };
        command.SetAction((parse, ct) => Guard(error, async () =>
        {
            var expected = parse.GetValue(digest)!;
            if (!ArtifactDigest.IsValid(expected)) return Usage(error, $"--digest must be {ArtifactDigest.Format} (got '{expected}')");
            if (ManifestRules.CheckName(parse.GetValue(version), "--version") is { } bad) return Usage(error, bad);
            if (OpenStore(parse.GetValue(from)!, parse.GetValue(endpoint), parse.GetValue(region), error) is not { } store) return 2;
            using (store)
            {
                var dir = Path.GetFullPath(parse.GetValue(to)!);
                using var progress = new ProgressPrinter(error);
                var result = await new ArtifactTransfer(store, progress).FetchAsync(parse.GetValue(version)!, expected, dir, ct).ConfigureAwait(false);
                progress.Done(result.AlreadyComplete ? $"{dir} already complete"
                    : $"fetched and verified into {dir} ({ProgressPrinter.Size(result.BytesTransferred)} received)");
                await output.WriteLineAsync(expected).ConfigureAwait(false);
            }
            return 0;
        }));
        return command;
    }

    private static IArtifactStore? OpenStore(string prefix, string? endpoint, string? region, TextWriter error)
    {
        Uri? endpointUri = null;
        if (endpoint is not null && (!Uri.TryCreate(endpoint, UriKind.Absolute, out endpointUri) || endpointUri.Scheme is not ("http" or "https")))
        {
            error.WriteLine($"--endpoint must be an absolute http(s) URL (got '{endpoint}')");
            return null;
        }
        try
        {
            return ArtifactStore.Open(prefix, new StoreOptions { Endpoint = endpointUri, Region = region });
        }
        catch (ArtifactException ex)
        {
            error.WriteLine(ex.Message);
            return null;
        }
    }

    private static long FolderBytes(string folder) =>
        Directory.Exists(folder) ? ManifestBuilder.FolderFiles(folder).Sum(p => new FileInfo(Path.Combine(folder, p)).Length) : 0;

    private static int Usage(TextWriter error, string message)
    {
        error.WriteLine(message);
        return 2;
    }

    /// <summary>Artifact and store failures end as one line and exit code 1; anything else is a bug and keeps its stack trace.</summary>
    private static async Task<int> Guard(TextWriter error, Func<Task<int>> action)
    {
        try
        {
            return await action().ConfigureAwait(false);
        }
        catch (ArtifactException ex)
        {
            await error.WriteLineAsync($"error: {ex.Message}").ConfigureAwait(false);
            return 1;
        }
        catch (OperationCanceledException)
        {
            await error.WriteLineAsync("error: interrupted; run the same command again to resume").ConfigureAwait(false);
            return 130;
        }
        catch (IOException ex)
        {
            await error.WriteLineAsync($"error: {ex.Message}").ConfigureAwait(false);
            return 1;
        }
        catch (UnauthorizedAccessException ex)
        {
            await error.WriteLineAsync($"error: {ex.Message}").ConfigureAwait(false);
            return 1;
        }
    }
}
