using System.Collections.Concurrent;
using System.Diagnostics;
using LlmInfra.Artifacts;
using LlmInfra.DemoModel;
using LlmInfra.Engine;
using Microsoft.Extensions.Options;

namespace LlmInfra.Runtime.Hosting;

/// <summary>Label values of llm_startup_phase_seconds, in order.</summary>
public static class StartupPhase
{
    /// <summary>Manifest digest, file sizes and SHA-256 (0 for a folder without a manifest).</summary>
    public const string Verify = "verify";

    /// <summary>ONNX Runtime GenAI model, tokenizer and scheduler.</summary>
    public const string Load = "load";

    /// <summary>One warm-up token through the scheduler.</summary>
    public const string FirstToken = "first_token";

    /// <summary>Process start to ready (includes .NET start-up and the phases above).</summary>
    public const string Total = "total";
}

public enum ServingState
{
    Loading,
    Ready,
    Draining,
    Failed,
}

/// <summary>
/// Owns the model and scheduler. Loads in the background so /healthz answers while a large model loads, and drains
/// on shutdown: <see cref="StoppingAsync"/> runs before Kestrel stops listening, so new requests get 503 while
/// in-flight ones finish within the grace period.
/// </summary>
public sealed class ModelHost(
    IOptions<RuntimeOptions> options,
    IHostApplicationLifetime lifetime,
    ILogger<ModelHost> logger) : IHostedLifecycleService, IDisposable
{
    private readonly RuntimeOptions _options = options.Value;
    private volatile ServingState _state = ServingState.Loading;
    private IGenerationBackend? _scheduler;
    private LlmModel? _model;
    private Task _loading = Task.CompletedTask;

    public ServingState State => _state;

    /// <summary>Set when loading failed; the process exits non-zero with this message.</summary>
    public string? StartupError { get; private set; }

    /// <summary>The id clients use; known before the model is loaded.</summary>
    public string ModelName { get; } = ResolveModelName(options.Value);

    /// <summary>The generation backend once <see cref="State"/> has been <see cref="ServingState.Ready"/>.</summary>
    public IGenerationBackend? Scheduler => _scheduler;

    /// <summary>Completes when loading finished (either way).</summary>
    public Task Loaded => _loading;

    /// <summary>The verified artifact's manifest; null before verification and for a folder without a manifest.</summary>
    public SignedManifest? Artifact { get; private set; }

    /// <summary>Seconds each start-up phase took (<see cref="StartupPhase"/>), as they complete.</summary>
    public IReadOnlyDictionary<string, double> StartupPhases => _phases;

    private readonly ConcurrentDictionary<string, double> _phases = new();

    public static string ResolveModelName(RuntimeOptions o) =>
        !string.IsNullOrWhiteSpace(o.ModelName) ? o.ModelName
        : o.Demo ? "demo"
        : Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(o.Model ?? ".")));

    /// <summary>Generator workers the scheduler will run: one per <see cref="RuntimeOptions.MaxBatchSize"/> slots.</summary>
    public static int Workers(RuntimeOptions o)
    {
        var batch = Math.Min(o.MaxBatchSize, o.MaxConcurrent);
        return (o.MaxConcurrent + batch - 1) / batch;
    }

    /// <summary>
    /// Explicit setting, else for the CPU provider the cores but one, shared among the workers; one core stays free
    /// for HTTP, JSON and tokenizing. Decoding is memory-bound: measured here, one thread per worker decodes about as
    /// fast as two, while ONNX Runtime's default pool (one spinning thread per core) fights the web server for CPU.
    /// CUDA keeps ONNX Runtime's default.
    /// </summary>
    /// <param name="engineThreads">Threads that run the model: the GenAI engine has one; null means the scheduler's workers.</param>
    public static int? IntraOpThreads(RuntimeOptions o, int? engineThreads = null) =>
        o.IntraOpThreads > 0 ? o.IntraOpThreads
        : o.Provider == "cpu" ? Math.Max(1, (Environment.ProcessorCount - 1) / (engineThreads ?? Workers(o)))
        : null;

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// Loading starts once Kestrel listens: a port that is taken fails the start before a model (gigabytes, minutes)
    /// is read for nothing, and a process that exits then does not cut a load short.
    /// </summary>
    public Task StartedAsync(CancellationToken cancellationToken)
    {
        _loading = Task.Run(Load, CancellationToken.None);
        return Task.CompletedTask;
    }

    private void Load()
    {
        try
        {
            var path = _options.Model!;
            if (_options.Demo)
            {
                var cache = _options.DemoCacheDir ?? DemoModelWriter.DefaultCacheRoot();
                path = DemoModelWriter.EnsureCached(DemoModelSpec.Demo, cache);
                logger.LogInformation("Demo model ready in {ModelPath}", path);
            }
            var phase = Stopwatch.GetTimestamp();
            Artifact = VerifyArtifact(path);
            phase = EndPhase(StartupPhase.Verify, phase);
            // Paged models (genai_config.json has engine.dynamic_batching) are served by GenAI's Engine; others by the
            // cohort scheduler (the static engine caps batches at 4 and refuses stop strings and seeds).
            var paged = PagedEngineConfig.Read(path);
            var model = LlmModel.Load(new EngineOptions
            {
                ModelPath = path,
                Provider = _options.Provider,
                IntraOpThreads = IntraOpThreads(_options, engineThreads: paged is null ? null : 1),
            });
            _model = model;
            var schedulerOptions = new SchedulerOptions
            {
                MaxConcurrent = _options.MaxConcurrent,
                MaxQueue = _options.MaxQueue,
                MaxBatchSize = Math.Min(_options.MaxBatchSize, _options.MaxConcurrent),
                BatchWindow = TimeSpan.FromMilliseconds(_options.BatchWindowMs),
                RequestTimeout = TimeSpan.FromSeconds(_options.RequestTimeoutSeconds),
            };
            int? maxPrompt = _options.MaxPromptTokens > 0 ? _options.MaxPromptTokens : null;
            _scheduler = paged is null
                ? new GenerationScheduler(model, schedulerOptions, maxPrompt)
                : new EngineBackend(model, schedulerOptions, maxPrompt);
            phase = EndPhase(StartupPhase.Load, phase);
            WarmUp(_scheduler);
            EndPhase(StartupPhase.FirstToken, phase);
            if (_state == ServingState.Loading) _state = ServingState.Ready;
            _phases[StartupPhase.Total] = (DateTime.Now - Process.GetCurrentProcess().StartTime).TotalSeconds;
            logger.LogInformation("Startup phase {Phase}: {Seconds:0.000} s", StartupPhase.Total, _phases[StartupPhase.Total]);
            logger.LogInformation("Model {ModelName} loaded from {ModelPath} on {Provider}; context {ContextLength} tokens; backend {Backend}",
                ModelName, path, _options.Provider, model.ContextLength, paged is null ? "scheduler (static batches)" : $"GenAI engine (dynamic batching, {paged.NumBlocks} KV blocks of {paged.BlockSize})");
        }
        catch (Exception ex) when (ex is ModelLoadException or IOException or UnauthorizedAccessException or ArtifactException)
        {
            var setting = _options.Demo ? "Runtime:Demo (--demo)"
                : ex is ArtifactException { File: ManifestFile.FileName } && _options.ModelDigest is not null ? "Runtime:ModelDigest (--model-digest)"
                : "Runtime:Model (--model)";
            StartupError = $"{setting}: {ex.Message}";
            _state = ServingState.Failed;
            logger.LogCritical("Model could not be loaded: {Error}", StartupError);
            // Stopping while the host still starts cancels Kestrel's bind, and the host's start then throws a
            // TaskCanceledException instead of returning: stop once started (at once when it already has).
            lifetime.ApplicationStarted.Register(lifetime.StopApplication);
        }
    }

    /// <summary>
    /// A folder with a manifest is always checked before it is loaded: sizes always, SHA-256 unless --skip-verify.
    /// With --model-digest the manifest must exist and have that digest. Throws <see cref="ArtifactException"/> naming
    /// the file.
    /// </summary>
    private SignedManifest? VerifyArtifact(string path)
    {
        if (_options.ModelDigest is null && !File.Exists(Path.Combine(path, ManifestFile.FileName)))
        {
            if (!_options.Demo) logger.LogWarning("{ModelPath} has no {Manifest}: serving an unverified model", path, ManifestFile.FileName);
            return null;
        }
        var signed = ManifestFile.Read(path, _options.ModelDigest);
        var mode = _options.SkipVerify ? VerifyMode.SizesOnly : VerifyMode.Full;
        ArtifactVerifier.VerifyAsync(path, signed.Manifest, mode).GetAwaiter().GetResult();
        var m = signed.Manifest;
        logger.LogInformation("Verified {Name} {Version} ({Digest}): {Files} files, {Bytes} bytes, {Mode}",
            m.Name, m.Version, signed.Digest, m.Files.Count, m.TotalBytes, mode == VerifyMode.Full ? "sizes and SHA-256" : "sizes only (--skip-verify)");
        if (m.ExecutionProvider != _options.Provider)
            logger.LogWarning("{Name} {Version} was built for {Built}, served on {Provider}", m.Name, m.Version, m.ExecutionProvider, _options.Provider);
        return signed;
    }

    /// <summary>
    /// One greedy token before readiness: the first request would otherwise pay for lazy initialisation (kernel
    /// selection, memory arenas), and the time it takes is the cold start's last phase.
    /// </summary>
    private static void WarmUp(IGenerationBackend backend)
    {
        try
        {
            backend.GenerateAsync("Hello", new SamplingOptions { MaxTokens = 1, Temperature = 0 }).GetAwaiter().GetResult();
        }
        catch (Exception ex) when (ex is not ModelLoadException)
        {
            // A model that loads but cannot generate is not ready: fail the start like a load error, in one line.
            throw new ModelLoadException($"the model loaded but could not generate a first token: {ex.Message}", ex);
        }
    }

    private long EndPhase(string name, long started)
    {
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        _phases[name] = seconds;
        logger.LogInformation("Startup phase {Phase}: {Seconds:0.000} s", name, seconds);
        return Stopwatch.GetTimestamp();
    }

    /// <summary>Runs first on shutdown, while Kestrel still accepts connections.</summary>
    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        if (_state != ServingState.Failed) _state = ServingState.Draining;
        if (_scheduler is null) return;
        logger.LogInformation("Draining: {Running} running, {Waiting} waiting; grace {Grace}s",
            _scheduler.Running, _scheduler.Waiting, _options.DrainGraceSeconds);
        using var grace = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        grace.CancelAfter(TimeSpan.FromSeconds(_options.DrainGraceSeconds));
        var drained = await _scheduler.DrainAsync(grace.Token).ConfigureAwait(false);
        logger.LogInformation(drained ? "Drained" : "Grace period over; remaining requests cancelled");
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose()
    {
        _scheduler?.Dispose();
        _model?.Dispose();
    }
}
