using LlmInfra.Runtime.Tests.Infrastructure;

namespace LlmInfra.Runtime.Tests;

[Collection(SharedServerCollection.Name)]
public sealed class MetricsTests(SharedServerFixture fixture)
{
    private readonly HttpClient _client = fixture.Server.Client;
    private const string Model = "model=\"tiny\"";

    [Fact]
    public async Task Metrics_use_the_exact_names_with_a_model_label()
    {
        var text = await _client.ScrapeAsync();
        foreach (var name in new[]
        {
            "llm_requests_waiting", "llm_requests_running", "llm_time_to_first_token_seconds", "llm_inter_token_latency_seconds",
            "llm_request_duration_seconds", "llm_prompt_tokens_total", "llm_generation_tokens_total", "llm_requests_total", "llm_model_info",
            "llm_startup_phase_seconds",
            "llm_kv_cache_blocks_used", "llm_kv_cache_blocks_total", "llm_prefix_cache_hit_tokens_total",
        })
        {
            Assert.Contains($"# TYPE {name} ", text);
        }
        Assert.Equal(1, MetricsText.Value(text, $"llm_model_info{{{Model},version=\"\",digest=\"\"}}"));
        foreach (var outcome in new[] { "ok", "client_error", "unauthorized", "rejected", "cancelled", "error" })
            Assert.Contains($"llm_requests_total{{{Model},outcome=\"{outcome}\"}}", text);
        Assert.Contains("process_cpu_seconds_total", text);
        Assert.Contains("dotnet_collection_count_total", text);
    }

    [Fact]
    public async Task Metrics_move_with_requests()
    {
        var before = await _client.ScrapeAsync();
        using (var ok = await _client.OpenStreamAsync("/v1/chat/completions", Http.Chat("count me", 5, new { stream = true })))
            await ok.ReadAllEventsAsync();
        using (await _client.PostRawAsync("/v1/chat/completions", "{")) { }
        using (var anonymous = new HttpClient { BaseAddress = fixture.Server.BaseAddress })
        using (await anonymous.GetAsync("/v1/models")) { }
        var after = await _client.ScrapeAsync();

        double Delta(string series) => MetricsText.Value(after, series) - MetricsText.Value(before, series);
        Assert.True(Delta($"llm_requests_total{{{Model},outcome=\"ok\"}}") >= 1);
        Assert.True(Delta($"llm_requests_total{{{Model},outcome=\"client_error\"}}") >= 1);
        Assert.True(Delta($"llm_requests_total{{{Model},outcome=\"unauthorized\"}}") >= 1);
        Assert.True(Delta($"llm_generation_tokens_total{{{Model}}}") >= 5);
        Assert.True(Delta($"llm_prompt_tokens_total{{{Model}}}") >= 1);
        Assert.True(Delta($"llm_time_to_first_token_seconds_count{{{Model}}}") >= 1);
        Assert.True(Delta($"llm_inter_token_latency_seconds_count{{{Model}}}") >= 4);
        Assert.True(Delta($"llm_request_duration_seconds_count{{{Model}}}") >= 3);
    }

    [Fact]
    public async Task Engine_backend_reports_kv_blocks_and_prefix_cache_hits()
    {
        await using var server = await RuntimeServer.StartAsync(Models.TinyPaged);
        var idle = await server.Client.ScrapeAsync();
        Assert.Equal(64, MetricsText.Value(idle, $"llm_kv_cache_blocks_total{{{Model}}}"));
        Assert.Equal(0, MetricsText.Value(idle, $"llm_kv_cache_blocks_used{{{Model}}}"));
        var prefix = string.Concat(Enumerable.Repeat("the same long system prompt ", 4));
        foreach (var question in new[] { "first?", "second?" })
        {
            using var response = await server.Client.PostJsonAsync("/v1/chat/completions", Http.Chat(prefix + question, 4));
            response.EnsureSuccessStatusCode();
        }
        var after = await server.Client.ScrapeAsync();
        Assert.True(MetricsText.Value(after, $"llm_prefix_cache_hit_tokens_total{{{Model}}}") >= 16);
        Assert.Equal(2, MetricsText.Value(after, $"llm_requests_total{{{Model},outcome=\"ok\"}}"));
        Assert.Equal(8, MetricsText.Value(after, $"llm_generation_tokens_total{{{Model}}}"));
    }
}
