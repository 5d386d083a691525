using System.Threading.RateLimiting;

namespace LlmInfra.Runtime.Security;

/// <summary>Which per-key limit refused a request, in the key file's words.</summary>
public sealed record LimitExceeded(string Field, string Description, int Limit, TimeSpan RetryAfter)
{
    /// <summary>OpenAI's error type for rate limits: "requests" or "tokens".</summary>
    public string ErrorType => Field == "tpm" ? "tokens" : "requests";

    /// <summary>Whole seconds for the Retry-After header, at least 1.</summary>
    public int RetryAfterSeconds => (int)Math.Clamp(Math.Ceiling(RetryAfter.TotalSeconds), 1, int.MaxValue);
}

/// <summary>
/// The limits of one key: requests per minute (<see cref="TokenBucket"/>, one permit per request), tokens per minute
/// (<see cref="TokenBucket"/> charged with prompt and generated tokens; admission needs a positive balance) and
/// requests in flight (<see cref="ConcurrencyLimiter"/>, no queue). Thread-safe; one per key for the server's life.
/// </summary>
public sealed class KeyLimiter : IDisposable
{
    /// <summary>A refused concurrent request is told to come back after this long; a slot frees when a request ends.</summary>
    public static readonly TimeSpan ConcurrencyRetryAfter = TimeSpan.FromSeconds(1);

    private readonly TokenBucket? _requests;
    private readonly TokenBucket? _tokens;
    private readonly ConcurrencyLimiter? _inFlight;
    private readonly KeyLimits _limits;

    public KeyLimiter(KeyLimits limits, TimeProvider? time = null)
    {
        _limits = limits;
        if (limits.RequestsPerMinute is int rpm) _requests = new TokenBucket(rpm, TimeSpan.FromMinutes(1), time);
        if (limits.TokensPerMinute is int tpm) _tokens = new TokenBucket(tpm, TimeSpan.FromMinutes(1), time);
        if (limits.MaxConcurrent is int max)
            _inFlight = new ConcurrencyLimiter(new ConcurrencyLimiterOptions { PermitLimit = max, QueueLimit = 0 });
    }

    /// <summary>
    /// Admits a request or says which limit refuses it. The checks that take nothing come first, so a refused request
    /// uses up no permit: tokens per minute (a positive balance), then a concurrency slot, then a request permit.
    /// Dispose the returned lease when the request ends (it holds the concurrency slot).
    /// </summary>
    public IDisposable? TryAdmit(out LimitExceeded? exceeded)
    {
        exceeded = null;
        if (_tokens is not null)
        {
            using var lease = _tokens.AttemptAcquire(0);
            if (!lease.IsAcquired)
            {
                exceeded = new LimitExceeded("tpm", "tokens per minute", _tokens.Limit, RetryAfterOf(lease));
                return null;
            }
        }

        RateLimitLease? slot = null;
        if (_inFlight is not null)
        {
            slot = _inFlight.AttemptAcquire();
            if (!slot.IsAcquired)
            {
                slot.Dispose();
                exceeded = new LimitExceeded("max_concurrent", "requests in flight", _limits.MaxConcurrent!.Value, ConcurrencyRetryAfter);
                return null;
            }
        }

        if (_requests is not null)
        {
            using var lease = _requests.AttemptAcquire();
            if (!lease.IsAcquired)
            {
                slot?.Dispose();
                exceeded = new LimitExceeded("rpm", "requests per minute", _requests.Limit, RetryAfterOf(lease));
                return null;
            }
        }
        return (IDisposable?)slot ?? NoSlot.Instance;
    }

    /// <summary>The tokens-per-minute balance now (negative while in debt); null without that limit.</summary>
    public double? TokenBalance => _tokens?.Balance;

    /// <summary>Charges tokens against tokens per minute (negative: gives back an over-estimate).</summary>
    public void ChargeTokens(int tokens) => _tokens?.Charge(tokens);

    public void Dispose()
    {
        _requests?.Dispose();
        _tokens?.Dispose();
        _inFlight?.Dispose();
    }

    private static TimeSpan RetryAfterOf(RateLimitLease lease) =>
        lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.FromSeconds(1);

    private sealed class NoSlot : IDisposable
    {
        public static readonly NoSlot Instance = new();

        public void Dispose()
        {
        }
    }
}
