using LlmInfra.Engine;
using LlmInfra.Runtime.Hosting;
using Prometheus;

namespace LlmInfra.Runtime.Observability;

/// <summary>Outcome label values of llm_requests_total.</summary>
public static class Outcome
{
    public const string Ok = "ok";
    public const string ClientError = "client_error";
    public const string Unauthorized = "unauthorized";
    public const string Rejected = "rejected";
    /// <summary>429 from the key's own limits: the tenant's quota, not the service failing (kept out of error budgets).</summary>
    public const string RateLimited = "rate_limited";
    public const string Cancelled = "cancelled";
    public const string Error = "error";
}

/// <summary>
/// The Prometheus series the stack's autoscaler and dashboards read. Names are a contract: do not rename.
/// Every series carries a `model` label so per-model dashboards can filter. One registry per server instance.
/// </summary>
public sealed class RuntimeMetrics
{
    private readonly string _model;
    private readonly Counter _requests;
    private readonly Counter _promptTokens;
    private readonly Counter _generationTokens;
    private readonly Histogram _ttft;
    private readonly Histogram _itl;
    private readonly Histogram _duration;

    public RuntimeMetrics(ModelHost host)
    {
        _model = host.ModelName;
        Registry = Metrics.NewCustomRegistry();
        DotNetStats.Register(Registry); // process_* and dotnet_* series
        var factory = Metrics.WithCustomRegistry(Registry);
        string[] model = ["model"];

        var waiting = factory.CreateGauge("llm_requests_waiting", "Requests queued and not yet generating.", model);
        var running = factory.CreateGauge("llm_requests_running", "Requests generating now.", model);
        // Published once the model is verified and loaded: the labels are final then. Empty version and digest: a
        // folder without a manifest (or the demo model).
        var info = factory.CreateGauge("llm_model_info", "The served model artifact; value is always 1.", ["model", "version", "digest"]);
        var phases = factory.CreateGauge("llm_startup_phase_seconds", "Seconds each start-up phase took: verify, load, first_token, total.", ["model", "phase"]);
        // From the paged engine's cache; zero on the scheduler, which has no paged cache and no prefix reuse.
        var blocksUsed = factory.CreateGauge("llm_kv_cache_blocks_used", "KV-cache blocks reserved by requests on the engine.", model);
        var blocksTotal = factory.CreateGauge("llm_kv_cache_blocks_total", "KV-cache blocks in the engine's pool.", model);
        var prefixHits = factory.CreateCounter("llm_prefix_cache_hit_tokens_total", "Prompt tokens served from cached prefix blocks.", model);
        Registry.AddBeforeCollectCallback(() =>
        {
            var scheduler = host.Scheduler;
            waiting.WithLabels(_model).Set(scheduler?.Waiting ?? 0);
            running.WithLabels(_model).Set(scheduler?.Running ?? 0);
            if (scheduler is not null)
                info.WithLabels(_model, host.Artifact?.Manifest.Version ?? "", host.Artifact?.Digest ?? "").Set(1);
            foreach (var (phase, seconds) in host.StartupPhases)
                phases.WithLabels(_model, phase).Set(seconds);
            var cache = scheduler as IKvCacheInfo;
            blocksUsed.WithLabels(_model).Set(cache?.KvBlocksUsed ?? 0);
            blocksTotal.WithLabels(_model).Set(cache?.KvBlocksTotal ?? 0);
            prefixHits.WithLabels(_model).IncTo(cache?.PrefixCacheHitTokens ?? 0);
        });

        _requests = factory.CreateCounter("llm_requests_total", "API requests by outcome.", ["model", "outcome"]);
        foreach (var outcome in new[] { Outcome.Ok, Outcome.ClientError, Outcome.Unauthorized, Outcome.Rejected, Outcome.RateLimited, Outcome.Cancelled, Outcome.Error })
            _requests.WithLabels(_model, outcome); // publish zeros so rate() works from the first scrape
        _promptTokens = factory.CreateCounter("llm_prompt_tokens_total", "Prompt tokens processed.", model);
        _generationTokens = factory.CreateCounter("llm_generation_tokens_total", "Tokens generated.", model);
        _ttft = factory.CreateHistogram("llm_time_to_first_token_seconds", "Time from request arrival to the first generated token.",
            new HistogramConfiguration { LabelNames = model, Buckets = Histogram.ExponentialBuckets(0.001, 2, 16) });
        _itl = factory.CreateHistogram("llm_inter_token_latency_seconds", "Time between consecutive generated tokens of a request.",
            new HistogramConfiguration { LabelNames = model, Buckets = Histogram.ExponentialBuckets(0.0005, 2, 14) });
        _duration = factory.CreateHistogram("llm_request_duration_seconds", "Time from request arrival to the last byte of the response.",
            new HistogramConfiguration { LabelNames = model, Buckets = Histogram.ExponentialBuckets(0.005, 2, 16) });
        // Zeros from the first scrape, as for llm_requests_total: rate() and deltas work before the first request.
        _promptTokens.WithLabels(_model);
        _generationTokens.WithLabels(_model);
        _ttft.WithLabels(_model);
        _itl.WithLabels(_model);
        _duration.WithLabels(_model);
    }

    public CollectorRegistry Registry { get; }

    public void RequestFinished(string outcome, TimeSpan duration)
    {
        _requests.WithLabels(_model, outcome).Inc();
        _duration.WithLabels(_model).Observe(duration.TotalSeconds);
    }

    public void Tokens(int prompt, int generated)
    {
        _promptTokens.WithLabels(_model).Inc(prompt);
        _generationTokens.WithLabels(_model).Inc(generated);
    }

    public void FirstToken(TimeSpan sinceArrival) => _ttft.WithLabels(_model).Observe(sinceArrival.TotalSeconds);

    public void InterToken(TimeSpan gap) => _itl.WithLabels(_model).Observe(gap.TotalSeconds);
}
