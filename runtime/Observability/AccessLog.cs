using System.Diagnostics;
using LlmInfra.Runtime.Hosting;

namespace LlmInfra.Runtime.Observability;

/// <summary>Per-request facts the handlers fill in for the access log and the outcome metric.</summary>
public sealed class AccessLogFeature
{
    public string? KeyFingerprint { get; set; }
    /// <summary>The id of the key from the key file, once the key was accepted.</summary>
    public string? KeyId { get; set; }
    public int PromptTokens { get; set; }
    public int CompletionTokens { get; set; }
    public TimeSpan? TimeToFirstToken { get; set; }
    public string? FinishReason { get; set; }

    /// <summary>Set when the client went away or the deadline passed; wins over the status code.</summary>
    public bool Cancelled { get; set; }

    /// <summary>Set when the key's own limits refused the request (a 429 that is the tenant's quota, not overload).</summary>
    public bool RateLimited { get; set; }

    /// <summary>Set when the request failed on the server after its response had started (the status says 200).</summary>
    public bool Faulted { get; set; }

    public long StartedAt { get; } = Stopwatch.GetTimestamp();

    public static AccessLogFeature Get(HttpContext context)
    {
        var feature = context.Features.Get<AccessLogFeature>();
        if (feature is null)
        {
            feature = new AccessLogFeature();
            context.Features.Set(feature);
        }
        return feature;
    }
}

/// <summary>
/// One structured line per API request (id, key fingerprint and key id, status, token counts, durations) and the
/// llm_requests_total / llm_request_duration_seconds metrics. Never logs prompt or completion text.
/// </summary>
public sealed class AccessLogMiddleware(RequestDelegate next, RuntimeMetrics metrics, ModelHost host, ILogger<AccessLogMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var feature = AccessLogFeature.Get(context);
        var api = context.Request.Path.StartsWithSegments("/v1");
        var failed = false;
        try
        {
            await next(context);
        }
        catch
        {
            failed = true;
            throw;
        }
        finally
        {
            if (api)
            {
                var elapsed = Stopwatch.GetElapsedTime(feature.StartedAt);
                var status = failed || feature.Faulted ? StatusCodes.Status500InternalServerError : context.Response.StatusCode;
                var outcome = feature.Cancelled || context.RequestAborted.IsCancellationRequested ? Outcome.Cancelled
                    : feature.RateLimited ? Outcome.RateLimited
                    : OutcomeOf(status);
                metrics.RequestFinished(outcome, elapsed);
                logger.LogInformation(
                    "access id={RequestId} method={Method} path={Path} version={ModelVersion} key={KeyFingerprint} key_id={KeyId} status={Status} outcome={Outcome} " +
                    "prompt_tokens={PromptTokens} completion_tokens={CompletionTokens} finish={FinishReason} ttft_ms={TtftMs} duration_ms={DurationMs}",
                    context.TraceIdentifier, context.Request.Method, context.Request.Path.Value, host.Artifact?.Manifest.Version ?? "-", feature.KeyFingerprint ?? "-", feature.KeyId ?? "-", status, outcome,
                    feature.PromptTokens, feature.CompletionTokens, feature.FinishReason ?? "-",
                    feature.TimeToFirstToken is { } ttft ? Math.Round(ttft.TotalMilliseconds, 1) : null, Math.Round(elapsed.TotalMilliseconds, 1));
            }
        }
    }

    public static string OutcomeOf(int status) => status switch
    {
        < 400 => Outcome.Ok,
        401 or 403 => Outcome.Unauthorized,
        429 or 503 => Outcome.Rejected,
        499 => Outcome.Cancelled,
        < 500 => Outcome.ClientError,
        _ => Outcome.Error,
    };
}
