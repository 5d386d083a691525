using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using LlmInfra.Runtime.Security;
using LlmInfra.Runtime.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace LlmInfra.Runtime.Tests;

/// <summary>A server on the long-context model with a key file of limited keys and a clock the tests move.</summary>
public sealed class TenantServerFixture : IAsyncLifetime
{
    public const string LegacyKey = "sk-legacy-0001";

    private readonly string _keyFile = Path.Combine(Path.GetTempPath(), $"llm-infra-tenants-{Guid.NewGuid():N}.txt");

    public FakeTimeProvider Time { get; } = new();
    public LogCapture Logs { get; } = new();
    public RuntimeServer Server { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await File.WriteAllTextAsync(_keyFile, $"""
            # a key from before entries existed
            {LegacyKey}
            id=rpm-2 key=sk-rpm-2 rpm=2
            id=tpm-100 key=sk-tpm-100 tpm=100
            id=one-at-a-time key=sk-one-at-a-time max_concurrent=1
            id=elsewhere key=sk-elsewhere models=another-model
            id=tiny-only key=sk-tiny-only models=another-model,{RuntimeServer.ModelName}
            id=metered key=sk-metered
            """);
        Server = await RuntimeServer.StartAsync(Models.Long, new Dictionary<string, string?> { ["Runtime:ApiKeysFile"] = _keyFile }, b =>
        {
            b.Services.AddSingleton<TimeProvider>(Time);
            b.Services.AddSingleton<ILoggerProvider>(Logs);
            b.Logging.AddFilter<LogCapture>("LlmInfra.Runtime.Observability", LogLevel.Information);
        });
    }

    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        File.Delete(_keyFile);
    }

    public HttpClient ClientFor(string key)
    {
        var client = new HttpClient { BaseAddress = Server.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }
}

/// <summary>Per-key limits and metering over real HTTP: 429 with Retry-After naming the limit, model lists, chargeback series.</summary>
public sealed class TenantLimitTests(TenantServerFixture fixture) : IClassFixture<TenantServerFixture>
{
    [Fact]
    public async Task Requests_per_minute_over_the_limit_get_429_with_retry_after_naming_the_limit()
    {
        using var client = fixture.ClientFor("sk-rpm-2");
        for (var i = 0; i < 2; i++)
        {
            using var ok = await client.PostJsonAsync("/v1/completions", Http.Completion("a", maxTokens: 1));
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        var rateLimited = $"llm_requests_total{{model=\"{RuntimeServer.ModelName}\",outcome=\"rate_limited\"}}";
        var rejected = $"llm_requests_total{{model=\"{RuntimeServer.ModelName}\",outcome=\"rejected\"}}";
        var before = await client.ScrapeAsync();
        using var refused = await client.PostJsonAsync("/v1/completions", Http.Completion("a", maxTokens: 1));
        var error = await AssertRateLimitedAsync(refused, "requests", retryAfterSeconds: 30);
        // The tenant's own quota, not the service failing: kept apart from "rejected", which the availability SLO counts.
        var after = await client.ScrapeAsync();
        Assert.Equal(MetricsText.Value(before, rateLimited) + 1, MetricsText.Value(after, rateLimited));
        Assert.Equal(MetricsText.Value(before, rejected), MetricsText.Value(after, rejected));
        Assert.Equal("Rate limit reached for API key 'rpm-2' on requests per minute (rpm): limit 2. Retry after 30 s.", (string?)error["message"]);

        // GET /v1/models is not counted.
        using var models = await client.GetAsync("/v1/models");
        Assert.Equal(HttpStatusCode.OK, models.StatusCode);

        fixture.Time.Advance(TimeSpan.FromSeconds(30));
        using var again = await client.PostJsonAsync("/v1/completions", Http.Completion("a", maxTokens: 1));
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
    }

    [Fact]
    public async Task Tokens_per_minute_count_generated_tokens_while_a_stream_runs()
    {
        using var client = fixture.ClientFor("sk-tpm-100");
        using (var stream = await client.OpenStreamAsync("/v1/completions", Http.Completion("go on", maxTokens: 4000, new { stream = true })))
        {
            Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
            var events = 0;
            await foreach (var _ in stream.ReadEventsAsync())
            {
                if (++events == 120) break; // more than the key's 100 tokens a minute, early in a 4000-token generation
            }

            using var refused = await client.PostJsonAsync("/v1/completions", Http.Completion("a", maxTokens: 1));
            // Still generating: the debt comes from tokens counted as they were produced, not at the end.
            Assert.Equal(1, fixture.Server.Host.Scheduler!.Running);
            var error = await AssertRateLimitedAsync(refused, "tokens", retryAfterSeconds: null);
            Assert.Contains("on tokens per minute (tpm): limit 100", (string?)error["message"]);
        }

        // Whatever the stream used in the end (it stopped when the client left), the wait covers it.
        await WaitUntilAsync(() => fixture.Server.Host.Scheduler!.Running == 0);
        using var stillRefused = await client.PostJsonAsync("/v1/completions", Http.Completion("a", maxTokens: 1));
        Assert.Equal(HttpStatusCode.TooManyRequests, stillRefused.StatusCode);
        fixture.Time.Advance(stillRefused.Headers.RetryAfter!.Delta!.Value);
        using var admitted = await client.PostJsonAsync("/v1/completions", Http.Completion("a", maxTokens: 1));
        Assert.Equal(HttpStatusCode.OK, admitted.StatusCode);
    }

    [Fact]
    public async Task Max_concurrent_refuses_a_second_request_in_flight_and_admits_once_the_first_ends()
    {
        using var client = fixture.ClientFor("sk-one-at-a-time");
        using (var stream = await client.OpenStreamAsync("/v1/chat/completions", Http.Chat("long", maxTokens: 4000, new { stream = true })))
        {
            Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
            using var refused = await client.PostJsonAsync("/v1/chat/completions", Http.Chat("hi", maxTokens: 1));
            var error = await AssertRateLimitedAsync(refused, "requests", retryAfterSeconds: 1);
            Assert.Equal("Rate limit reached for API key 'one-at-a-time' on requests in flight (max_concurrent): limit 1. Retry after 1 s.",
                (string?)error["message"]);
        }

        await WaitUntilAsync(() => fixture.Server.Host.Scheduler!.Running == 0);
        using var next = await RetryWhileAsync(() => client.PostJsonAsync("/v1/chat/completions", Http.Chat("hi", maxTokens: 1)));
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
    }

    [Fact]
    public async Task A_key_without_the_served_model_sees_no_model_and_gets_404_like_openai()
    {
        using var elsewhere = fixture.ClientFor("sk-elsewhere");
        using var chat = await elsewhere.PostJsonAsync("/v1/chat/completions", Http.Chat("hi", maxTokens: 1));
        Assert.Equal(HttpStatusCode.NotFound, chat.StatusCode);
        var error = (await chat.JsonAsync())["error"]!;
        Assert.Equal("model_not_found", (string?)error["code"]);
        Assert.Equal("model", (string?)error["param"]);
        Assert.Equal("invalid_request_error", (string?)error["type"]);
        using var list = await elsewhere.GetAsync("/v1/models");
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        Assert.Empty((await list.JsonAsync())["data"]!.AsArray());

        using var allowed = fixture.ClientFor("sk-tiny-only");
        using var ok = await allowed.PostJsonAsync("/v1/chat/completions", Http.Chat("hi", maxTokens: 1));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        using var models = await allowed.GetAsync("/v1/models");
        Assert.Equal(RuntimeServer.ModelName, (string?)(await models.JsonAsync())["data"]![0]!["id"]);
    }

    [Fact]
    public async Task Tokens_are_metered_per_key_id_for_chargeback_and_the_access_log_names_the_id()
    {
        using var client = fixture.ClientFor("sk-metered");
        using var plain = await client.PostJsonAsync("/v1/chat/completions", Http.Chat("count me", maxTokens: 5));
        var usage = (await plain.JsonAsync())["usage"]!;
        using var stream = await client.OpenStreamAsync("/v1/completions",
            Http.Completion("and me", maxTokens: 7, new { stream = true, stream_options = new { include_usage = true } }));
        var events = await stream.ReadAllEventsAsync();
        var streamed = JsonNode.Parse(events[^2])!["usage"]!;

        var metrics = await fixture.Server.Client.ScrapeAsync();
        string Series(string id, string kind) => $"{TenantLimits.MetricName}{{model=\"{RuntimeServer.ModelName}\",key_id=\"{id}\",kind=\"{kind}\"}}";
        Assert.Equal((int)usage["prompt_tokens"]! + (int)streamed["prompt_tokens"]!, MetricsText.Value(metrics, Series("metered", "prompt")));
        Assert.Equal(5 + 7, MetricsText.Value(metrics, Series("metered", "completion")));

        // Every configured id is published from the start, and nothing else: the label set is the key file's.
        var legacyId = $"key-{ApiKeyStore.Fingerprint(TenantServerFixture.LegacyKey)}";
        Assert.Equal(0, MetricsText.Value(metrics, Series(legacyId, "completion")));
        var ids = metrics.Split('\n').Where(l => l.StartsWith(TenantLimits.MetricName + "{", StringComparison.Ordinal))
            .Select(l => l[(l.IndexOf("key_id=\"", StringComparison.Ordinal) + 8)..].Split('"')[0]).ToHashSet();
        Assert.Equal(new HashSet<string> { legacyId, "rpm-2", "tpm-100", "one-at-a-time", "elsewhere", "tiny-only", "metered" }, ids);
        Assert.DoesNotContain("sk-", metrics);

        var access = fixture.Logs.Entries.Where(e => e.Message.StartsWith("access ", StringComparison.Ordinal)).ToList();
        Assert.Contains(access, e => e.Message.Contains("key_id=metered ", StringComparison.Ordinal));
        Assert.DoesNotContain(access, e => e.Message.Contains("sk-", StringComparison.Ordinal));
    }

    /// <summary>429, Retry-After (exact when given), OpenAI's error body with code rate_limit_exceeded; never the key.</summary>
    private static async Task<JsonNode> AssertRateLimitedAsync(HttpResponseMessage response, string type, int? retryAfterSeconds)
    {
        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        var retryAfter = response.Headers.RetryAfter?.Delta;
        Assert.NotNull(retryAfter);
        Assert.True(retryAfter.Value >= TimeSpan.FromSeconds(1));
        if (retryAfterSeconds is int expected) Assert.Equal(TimeSpan.FromSeconds(expected), retryAfter);
        var body = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("sk-", body);
        var error = JsonNode.Parse(body)!["error"]!;
        Assert.Equal("rate_limit_exceeded", (string?)error["code"]);
        Assert.Equal(type, (string?)error["type"]);
        return error;
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met within 30 s");
            await Task.Delay(20);
        }
    }

    /// <summary>The concurrency slot is released when the first request's pipeline unwinds, a moment after its generation ends.</summary>
    private static async Task<HttpResponseMessage> RetryWhileAsync(Func<Task<HttpResponseMessage>> send)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var response = await send();
            if (response.StatusCode != HttpStatusCode.TooManyRequests || DateTime.UtcNow > deadline) return response;
            response.Dispose();
            await Task.Delay(20);
        }
    }
}
