using System.Threading.RateLimiting;

namespace LlmInfra.Runtime.Security;

/// <summary>
/// A token bucket that refills continuously (<c>limit</c> per <c>period</c>, holding at most <c>limit</c>) and can be
/// charged into debt. Requests per minute take one permit each; tokens per minute are charged after the fact, as
/// prompts are admitted and tokens generated, so the balance may go below zero and new work waits until it is
/// positive again. The built-in <see cref="TokenBucketRateLimiter"/> refills in whole periods on a timer and cannot
/// go into debt; this one computes its balance on demand from a <see cref="TimeProvider"/> and reports the exact
/// wait in <see cref="MetadataName.RetryAfter"/>.
/// </summary>
public sealed class TokenBucket : RateLimiter
{
    private static readonly RateLimitLease Acquired = new Lease(true, null);

    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    private readonly double _perSecond;
    private double _balance;
    private long _updatedAt;
    private long _rejected;
    private long _granted;

    public TokenBucket(int limit, TimeSpan period, TimeProvider? time = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(period, TimeSpan.Zero);
        Limit = limit;
        _perSecond = limit / period.TotalSeconds;
        _time = time ?? TimeProvider.System;
        _balance = limit;
        _updatedAt = _time.GetTimestamp();
    }

    public int Limit { get; }

    /// <summary>Permits available now; negative while in debt.</summary>
    public double Balance
    {
        get
        {
            lock (_lock) return Refill();
        }
    }

    /// <summary>Takes <paramref name="tokens"/> whatever the balance (work already done is paid for).</summary>
    public void Charge(int tokens)
    {
        lock (_lock)
        {
            Refill();
            _balance = Math.Min(Limit, _balance - tokens);
        }
    }

    public override TimeSpan? IdleDuration => null;

    public override RateLimiterStatistics GetStatistics()
    {
        lock (_lock)
        {
            return new RateLimiterStatistics
            {
                CurrentAvailablePermits = (long)Math.Floor(Refill()),
                TotalFailedLeases = _rejected,
                TotalSuccessfulLeases = _granted,
            };
        }
    }

    /// <summary>
    /// Takes <paramref name="permitCount"/> permits when the balance covers them. Zero permits asks whether the
    /// balance is positive, without taking anything (the admission check for tokens per minute).
    /// </summary>
    protected override RateLimitLease AttemptAcquireCore(int permitCount)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(permitCount, Limit);
        lock (_lock)
        {
            var balance = Refill();
            var enough = permitCount == 0 ? balance > 0 : balance >= permitCount;
            if (enough)
            {
                _balance -= permitCount;
                _granted++;
                return Acquired;
            }
            _rejected++;
            // Zero permits needs a positive balance: wait until it is at least a hundredth of a permit above zero.
            var missing = (permitCount == 0 ? 0.01 : permitCount) - balance;
            return new Lease(false, TimeSpan.FromSeconds(missing / _perSecond));
        }
    }

    /// <summary>Never queues: a request over the limit is answered at once, with the time to wait.</summary>
    protected override ValueTask<RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken cancellationToken) =>
        ValueTask.FromResult(AttemptAcquireCore(permitCount));

    private double Refill()
    {
        var now = _time.GetTimestamp();
        var elapsed = _time.GetElapsedTime(_updatedAt, now).TotalSeconds;
        _updatedAt = now;
        _balance = Math.Min(Limit, _balance + elapsed * _perSecond);
        return _balance;
    }

    private sealed class Lease(bool acquired, TimeSpan? retryAfter) : RateLimitLease
    {
        public override bool IsAcquired => acquired;

        public override IEnumerable<string> MetadataNames => retryAfter is null ? [] : [MetadataName.RetryAfter.Name];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = retryAfter;
            return retryAfter is not null && metadataName == MetadataName.RetryAfter.Name;
        }
    }
}
