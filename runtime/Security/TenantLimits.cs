using LlmInfra.Runtime.Hosting;
using LlmInfra.Runtime.Observability;
using Prometheus;

namespace LlmInfra.Runtime.Security;

/// <summary>
/// One <see cref="KeyAccount"/> per configured key, made at startup: its limiter and its
/// <c>llm_key_tokens_total{model,key_id,kind}</c> series. Series exist only for the ids in the key file (published at
/// zero from the start), so the label set is as large as the key file and no larger; keys themselves never appear.
/// </summary>
public sealed class TenantLimits : IDisposable
{
    public const string MetricName = "llm_key_tokens_total";

    private readonly Dictionary<string, KeyAccount> _accounts;

    public TenantLimits(ApiKeyHolder holder, RuntimeMetrics metrics, ModelHost host, TimeProvider time)
    {
        var counter = Metrics.WithCustomRegistry(metrics.Registry).CreateCounter(MetricName,
            "Tokens per API key id, for chargeback: kind=prompt (counted when a request is admitted) or completion (generated).",
            ["model", "key_id", "kind"]);
        _accounts = (holder.Store?.Keys ?? []).ToDictionary(
            key => key.Id,
            key => new KeyAccount(key, new KeyLimiter(key.Limits, time),
                counter.WithLabels(host.ModelName, key.Id, "prompt"), counter.WithLabels(host.ModelName, key.Id, "completion")),
            StringComparer.Ordinal);
    }

    public KeyAccount For(ApiKeyEntry key) => _accounts[key.Id];

    public void Dispose()
    {
        foreach (var account in _accounts.Values) account.Limiter.Dispose();
    }
}

/// <summary>A key's limiter and usage counters; set as a request feature once the key's limits admitted it.</summary>
public sealed class KeyAccount(ApiKeyEntry key, KeyLimiter limiter, Counter.Child promptTokens, Counter.Child completionTokens)
{
    public ApiKeyEntry Key { get; } = key;

    public KeyLimiter Limiter { get; } = limiter;

    internal void Admitted(int prompt)
    {
        promptTokens.Inc(prompt);
        Limiter.ChargeTokens(prompt);
    }

    internal void Generating(int tokens) => Limiter.ChargeTokens(tokens);

    /// <summary>The exact count at the end: the meter gets the difference to what was charged while streaming.</summary>
    internal void Generated(int total, int chargedSoFar)
    {
        completionTokens.Inc(total);
        Limiter.ChargeTokens(total - chargedSoFar);
    }
}

/// <summary>
/// How the completion handler reports a generation's tokens to the key that asked for it: prompt tokens when the
/// request is admitted (<see cref="Track"/>), one token per text piece as it is produced (<see cref="Piece"/>,
/// which keeps a long stream counting against tokens per minute while it runs) and the exact count at the end
/// (<see cref="Finish"/>). Does nothing when the server runs without keys.
/// </summary>
public sealed class TokenUsage
{
    private static readonly TokenUsage None = new(null);
    private readonly KeyAccount? _account;
    private int _pieces;
    private bool _finished;

    private TokenUsage(KeyAccount? account) => _account = account;

    public static TokenUsage Track(HttpContext context, int promptTokens)
    {
        if (context.Features.Get<KeyAccount>() is not { } account) return None;
        account.Admitted(promptTokens);
        return new TokenUsage(account);
    }

    public void Piece()
    {
        if (_account is null) return;
        _pieces++;
        _account.Generating(1);
    }

    public void Finish(int completionTokens)
    {
        if (_account is null || _finished) return;
        _finished = true;
        _account.Generated(completionTokens, _pieces);
    }
}
