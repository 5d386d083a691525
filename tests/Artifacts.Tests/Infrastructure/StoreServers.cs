using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Amazon.Runtime;
using Amazon.S3;
using Azure.Storage;
using Azure.Storage.Blobs;

namespace LlmInfra.Artifacts.Tests.Infrastructure;

/// <summary>
/// s3rver (an S3-compatible server) and Azurite (the Azure Storage emulator), started once for the test run from the
/// repository's node_modules (`npm ci` installs them), each on 127.0.0.1 with a free port and a temporary folder. The
/// tool under test reaches them with its production code path: the SDKs' default credential sources (environment
/// variables here) and --endpoint. Every test class that makes model folders is in its collection, so they are
/// removed after the last of them.
/// </summary>
public sealed class StoreServers : IAsyncLifetime
{
    public const string Bucket = "models";
    public const string Container = "models";
    public const string AzureAccount = "llmtests";
    private const string S3Key = "S3RVER"; // s3rver's built-in account

    private readonly List<Process> _processes = [];
    private readonly string _data = Directory.CreateTempSubdirectory("llm-artifact-stores-").FullName;
    private readonly string _azureKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(64));

    public Uri S3Endpoint { get; private set; } = null!;
    public Uri AzureEndpoint { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var bin = Path.Combine(RepositoryRoot(), "node_modules", ".bin");
        if (!File.Exists(Path.Combine(bin, "s3rver")) || !File.Exists(Path.Combine(bin, "azurite-blob")))
            throw new InvalidOperationException($"s3rver / azurite not found in {bin}: run `npm ci` in the repository first");

        var s3Dir = Directory.CreateDirectory(Path.Combine(_data, "s3")).FullName;
        var s3Port = await StartAsync(Path.Combine(bin, "s3rver"), ["-d", s3Dir, "-a", "127.0.0.1", "-p", "0", "--configure-bucket", Bucket],
            new Regex(@"listening on 127\.0\.0\.1:(\d+)"), new Dictionary<string, string>());
        S3Endpoint = new Uri($"http://127.0.0.1:{s3Port}");

        var azureDir = Directory.CreateDirectory(Path.Combine(_data, "azurite")).FullName;
        // A random key for an account of the tests' own: no well-known emulator key in the repository.
        var azurePort = await StartAsync(Path.Combine(bin, "azurite-blob"),
            ["--blobHost", "127.0.0.1", "--blobPort", "0", "--location", azureDir, "--skipApiVersionCheck", "--disableTelemetry"],
            new Regex(@"listens on http://127\.0\.0\.1:(\d+)"), new Dictionary<string, string> { ["AZURITE_ACCOUNTS"] = $"{AzureAccount}:{_azureKey}" });
        AzureEndpoint = new Uri($"http://127.0.0.1:{azurePort}/{AzureAccount}");

        // What the SDKs' default chains read: the tool gets no credentials any other way.
        Environment.SetEnvironmentVariable("AWS_ACCESS_KEY_ID", S3Key);
        Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", S3Key);
        Environment.SetEnvironmentVariable("AWS_REGION", "us-east-1");
        Environment.SetEnvironmentVariable("AZURE_STORAGE_KEY", _azureKey);
        await AzureContainer().CreateIfNotExistsAsync();
    }

    /// <summary>A fresh model prefix per test, so tests never see each other's versions.</summary>
    public string Prefix(string kind, string name) => kind switch
    {
        "s3" => $"s3://{Bucket}/{name}",
        "azure" => $"https://{AzureAccount}.blob.core.windows.net/{Container}/{name}",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    public Uri Endpoint(string kind) => kind == "s3" ? S3Endpoint : AzureEndpoint;

    /// <summary>Direct SDK clients for what the tool must never do itself: tamper with or delete a published object.</summary>
    public AmazonS3Client S3Client() => new(new BasicAWSCredentials(S3Key, S3Key),
        new AmazonS3Config { ServiceURL = S3Endpoint.ToString(), ForcePathStyle = true, AuthenticationRegion = "us-east-1" });

    public BlobContainerClient AzureContainer() =>
        new(new Uri($"{AzureEndpoint}/{Container}"), new StorageSharedKeyCredential(AzureAccount, _azureKey));

    private async Task<int> StartAsync(string script, string[] args, Regex ready, Dictionary<string, string> environment)
    {
        var info = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.GetFullPath(ResolveLink(script)));
        foreach (var a in args) info.ArgumentList.Add(a);
        foreach (var (k, v) in environment) info.Environment[k] = v;
        var process = Process.Start(info)!;
        _processes.Add(process);
        var port = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var log = new System.Collections.Concurrent.ConcurrentQueue<string>();
        void Watch(string? line)
        {
            if (line is null) return;
            log.Enqueue(line);
            if (ready.Match(line) is { Success: true } m) port.TrySetResult(int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
        }
        process.OutputDataReceived += (_, e) => Watch(e.Data);
        process.ErrorDataReceived += (_, e) => Watch(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var exited = process.WaitForExitAsync();
        var first = await Task.WhenAny(port.Task, exited).WaitAsync(TimeSpan.FromSeconds(60));
        if (first != port.Task) throw new InvalidOperationException($"{Path.GetFileName(script)} did not start:\n{string.Join('\n', log)}");
        return await port.Task;
    }

    private static string ResolveLink(string path) =>
        new FileInfo(path).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? path;

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Infra.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("Infra.sln not found above the test output folder");
    }

    public async Task DisposeAsync()
    {
        foreach (var process in _processes)
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            process.Dispose();
        }
        try
        {
            Directory.Delete(_data, recursive: true);
            ModelFolders.DeleteAll();
        }
        catch (IOException)
        {
            // A server may still be releasing a file; the temp folder is cleaned by the OS.
        }
    }
}

[CollectionDefinition(Name)]
public sealed class StoreCollection : ICollectionFixture<StoreServers>
{
    public const string Name = "stores";
}
