using System.Threading.RateLimiting;
using LlmInfra.Runtime.Security;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;
using Prometheus;

namespace LlmInfra.Runtime.Tests;

/// <summary>The per-key limiter on a fake clock: exact refill, exact Retry-After, debt for tokens, slots for concurrency.</summary>
public sealed class KeyLimiterTests
{
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public void Bucket_refills_evenly_and_says_exactly_how_long_to_wait()
    {
        using var bucket = new TokenBucket(60, TimeSpan.FromMinutes(1), _time);
        for (var i = 0; i < 60; i++) Assert.True(bucket.AttemptAcquire().IsAcquired);

        using var refused = bucket.AttemptAcquire();
        Assert.False(refused.IsAcquired);
        Assert.True(refused.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter));
        Assert.Equal(1.0, retryAfter.TotalSeconds, 6);

        _time.Advance(TimeSpan.FromMilliseconds(999));
        Assert.False(bucket.AttemptAcquire().IsAcquired);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(bucket.AttemptAcquire().IsAcquired);

        // Never more than the limit, however long it was idle.
        _time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(60, bucket.Balance, 6);
        Assert.Equal(60, bucket.GetStatistics().CurrentAvailablePermits);
    }

    [Fact]
    public void Bucket_goes_into_debt_and_admits_again_once_positive()
    {
        using var bucket = new TokenBucket(600, TimeSpan.FromMinutes(1), _time); // 10 per second
        Assert.True(bucket.AttemptAcquire(0).IsAcquired);
        bucket.Charge(650);
        Assert.Equal(-50, bucket.Balance, 6);

        using var refused = bucket.AttemptAcquire(0);
        Assert.False(refused.IsAcquired);
        Assert.True(refused.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter));
        Assert.InRange(retryAfter.TotalSeconds, 5.0, 5.01);

        _time.Advance(retryAfter);
        Assert.True(bucket.AttemptAcquire(0).IsAcquired);

        bucket.Charge(-10_000); // a refund never lifts the balance above the limit
        Assert.Equal(600, bucket.Balance, 6);
    }

    [Fact]
    public void Requests_per_minute_refuse_with_the_time_until_the_next_permit()
    {
        using var limiter = new KeyLimiter(new KeyLimits(RequestsPerMinute: 2), _time);
        Admit(limiter).Dispose();
        Admit(limiter).Dispose();

        var exceeded = Refuse(limiter);
        Assert.Equal("rpm", exceeded.Field);
        Assert.Equal("requests", exceeded.ErrorType);
        Assert.Equal(2, exceeded.Limit);
        Assert.Equal(30, exceeded.RetryAfterSeconds);

        _time.Advance(TimeSpan.FromSeconds(30));
        Admit(limiter).Dispose();
    }

    [Fact]
    public void Tokens_per_minute_admit_while_the_balance_is_positive_and_count_every_charge()
    {
        using var limiter = new KeyLimiter(new KeyLimits(TokensPerMinute: 120), _time); // 2 per second
        Admit(limiter).Dispose();
        limiter.ChargeTokens(100);
        Admit(limiter).Dispose();
        limiter.ChargeTokens(30);

        var exceeded = Refuse(limiter);
        Assert.Equal("tpm", exceeded.Field);
        Assert.Equal("tokens", exceeded.ErrorType);
        Assert.Equal(6, exceeded.RetryAfterSeconds); // 10 tokens of debt at 2 per second, and a little

        _time.Advance(TimeSpan.FromSeconds(6));
        Admit(limiter).Dispose();
    }

    [Fact]
    public void Concurrency_slots_free_when_requests_end_and_a_refused_request_uses_no_request_permit()
    {
        using var limiter = new KeyLimiter(new KeyLimits(RequestsPerMinute: 2, MaxConcurrent: 1), _time);
        var first = Admit(limiter);

        var exceeded = Refuse(limiter);
        Assert.Equal("max_concurrent", exceeded.Field);
        Assert.Equal(1, exceeded.RetryAfterSeconds);

        first.Dispose();
        Admit(limiter).Dispose(); // the second of two per minute: the refused one did not count
        Assert.Equal("rpm", Refuse(limiter).Field);
    }

    [Fact]
    public void Unlimited_keys_are_always_admitted()
    {
        using var limiter = new KeyLimiter(KeyLimits.None, _time);
        for (var i = 0; i < 1000; i++) Admit(limiter).Dispose();
        limiter.ChargeTokens(int.MaxValue);
        Admit(limiter).Dispose();
    }

    [Fact]
    public void Usage_hook_charges_prompt_at_admission_each_piece_as_produced_and_the_exact_total_at_the_end()
    {
        var key = ApiKeyFileParser.Parse(["id=team-a key=sk-a tpm=600"])[0];
        using var limiter = new KeyLimiter(key.Limits, _time);
        var counter = Metrics.WithCustomRegistry(Metrics.NewCustomRegistry()).CreateCounter("t", "t", ["kind"]);
        var account = new KeyAccount(key, limiter, counter.WithLabels("prompt"), counter.WithLabels("completion"));
        var context = new DefaultHttpContext();
        context.Features.Set(account);

        var usage = TokenUsage.Track(context, 100);
        Assert.Equal(500, Balance(limiter), 6);
        Assert.Equal(100, counter.WithLabels("prompt").Value);

        for (var i = 0; i < 450; i++) usage.Piece();
        Assert.Equal(50, Balance(limiter), 6);
        Assert.Equal(0, counter.WithLabels("completion").Value); // the metric takes the exact count at the end

        usage.Finish(460); // pieces can hold more than one token (held back for a stop string)
        usage.Finish(460);
        Assert.Equal(40, Balance(limiter), 6);
        Assert.Equal(460, counter.WithLabels("completion").Value);

        // Without a key (--no-auth) the hook does nothing.
        var anonymous = TokenUsage.Track(new DefaultHttpContext(), 5);
        anonymous.Piece();
        anonymous.Finish(1);
    }

    private static IDisposable Admit(KeyLimiter limiter)
    {
        var lease = limiter.TryAdmit(out var exceeded);
        Assert.Null(exceeded);
        return Assert.IsAssignableFrom<IDisposable>(lease);
    }

    private static LimitExceeded Refuse(KeyLimiter limiter)
    {
        Assert.Null(limiter.TryAdmit(out var exceeded));
        return Assert.IsType<LimitExceeded>(exceeded);
    }

    private static double Balance(KeyLimiter limiter) => limiter.TokenBalance!.Value;
}
