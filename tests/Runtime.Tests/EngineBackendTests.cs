using LlmInfra.Engine;
using LlmInfra.Runtime.Tests.Infrastructure;

namespace LlmInfra.Runtime.Tests;

/// <summary>The GenAI-engine backend (paged models) as an in-process user drives it.</summary>
public sealed class EngineBackendTests : IClassFixture<EngineBackendTests.PagedModels>
{
    private static readonly SamplingOptions Greedy = new() { Temperature = 0, MaxTokens = 16 };
    private readonly PagedModels _models;

    public EngineBackendTests(PagedModels models) => _models = models;

    public sealed class PagedModels : IDisposable
    {
        public LlmModel Tiny { get; } = LlmModel.Load(new EngineOptions { ModelPath = Models.TinyPaged });
        public LlmModel Long { get; } = LlmModel.Load(new EngineOptions { ModelPath = Models.LongPaged });

        public void Dispose()
        {
            Tiny.Dispose();
            Long.Dispose();
        }
    }

    [Fact]
    public async Task Requests_together_get_the_scheduler_s_text_on_the_plain_model()
    {
        string[] prompts = ["alpha", "a much longer second prompt", "third", "the fourth one"];
        using var plain = LlmModel.Load(new EngineOptions { ModelPath = Models.Tiny });
        using var scheduler = new GenerationScheduler(plain, new SchedulerOptions());
        var expected = new List<string>();
        foreach (var p in prompts) expected.Add((await scheduler.GenerateAsync(p, Greedy)).Text);

        using var engine = new EngineBackend(_models.Tiny, new SchedulerOptions());
        var results = await Task.WhenAll(prompts.Select(p => engine.GenerateAsync(p, Greedy)));
        Assert.Equal(expected, results.Select(r => r.Text));
        Assert.All(results, r => Assert.Equal((FinishReason.Length, 16), (r.FinishReason, r.CompletionTokens)));
        Assert.Equal(0, engine.KvBlocksUsed);
    }

    [Fact]
    public async Task Admission_is_bounded_by_kv_blocks_and_every_request_finishes()
    {
        // 64 blocks of 16 = 1024 slots; each request may reach the 256-token context (16 blocks): 4 fit at once.
        using var engine = new EngineBackend(_models.Tiny, new SchedulerOptions { MaxConcurrent = 16 });
        var peak = 0;
        var generations = Enumerable.Range(0, 8).Select(i => engine.Submit($"request {i}", Greedy with { MaxTokens = 240 })).ToList();
        var watch = Task.Run(async () =>
        {
            while (generations.Any(g => !g.Completion.IsCompleted))
            {
                peak = Math.Max(peak, engine.KvBlocksUsed);
                await Task.Delay(5);
            }
        });
        var results = await Task.WhenAll(generations.Select(g => g.Completion)).WaitAsync(TimeSpan.FromMinutes(2));
        await watch;
        Assert.All(results, r => Assert.Equal(FinishReason.Length, r.FinishReason));
        Assert.InRange(peak, 1, engine.KvBlocksTotal);
        Assert.Equal(0, engine.KvBlocksUsed);
    }

    [Fact]
    public async Task Stop_text_is_cut_from_the_output()
    {
        using var engine = new EngineBackend(_models.Tiny, new SchedulerOptions());
        var free = (await engine.GenerateAsync("stop test", Greedy with { MaxTokens = 40 })).Text;
        var stop = free.Substring(10, 2);
        var result = await engine.GenerateAsync("stop test", Greedy with { MaxTokens = 40, Stop = [stop] });
        Assert.Equal(FinishReason.Stop, result.FinishReason);
        Assert.Equal(free[..free.IndexOf(stop, StringComparison.Ordinal)], result.Text);
        Assert.DoesNotContain(stop, result.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_seed_gives_the_same_sample_alone_and_in_a_batch()
    {
        using var engine = new EngineBackend(_models.Tiny, new SchedulerOptions());
        var seeded = new SamplingOptions { Temperature = 1.0, MaxTokens = 24, Seed = 1234 };
        var alone = (await engine.GenerateAsync("sample me", seeded)).Text;
        var batch = await Task.WhenAll(new[] { "other", "sample me", "more" }.Select(p => engine.GenerateAsync(p, p == "more" ? seeded with { Seed = 9 } : seeded)));
        Assert.Equal(alone, batch[1].Text);
    }

    [Fact]
    public async Task Shared_prefix_is_reported_as_cached_prompt_tokens()
    {
        using var engine = new EngineBackend(_models.Tiny, new SchedulerOptions());
        var prefix = string.Concat(Enumerable.Repeat("a shared system prompt ", 5));
        var cold = await engine.GenerateAsync(prefix + "first", Greedy);
        var warm = await engine.GenerateAsync(prefix + "second", Greedy);
        Assert.Equal(0, cold.CachedPromptTokens);
        Assert.True(warm.CachedPromptTokens >= 16, $"cached {warm.CachedPromptTokens}");
        Assert.Equal(warm.CachedPromptTokens, engine.PrefixCacheHitTokens);
    }

    [Fact]
    public async Task Invalid_guidance_fails_the_request_as_the_schedulers_guidance_error_with_the_native_message()
    {
        using var engine = new EngineBackend(_models.Tiny, new SchedulerOptions());
        var generation = engine.Submit("json please", Greedy with { Guidance = new Guidance(GuidanceKind.JsonSchema, "{ not json") });
        var error = await Assert.ThrowsAsync<GuidanceRejectedException>(() => generation.Completion);
        Assert.False(string.IsNullOrWhiteSpace(error.Message));
        await Assert.ThrowsAsync<GuidanceRejectedException>(async () => await generation.Text.ReadAllAsync().ToListAsync());
        Assert.Equal(0, engine.Running + engine.Waiting);
    }

    [Fact]
    public async Task Regex_guidance_constrains_the_output()
    {
        using var engine = new EngineBackend(_models.Tiny, new SchedulerOptions());
        var result = await engine.GenerateAsync("digits", Greedy with { MaxTokens = 30, Guidance = new Guidance(GuidanceKind.Regex, "[0-9]{5}") });
        Assert.Matches("^[0-9]{5}$", result.Text);
    }

    [Fact]
    public async Task Cancel_queue_full_prompt_too_long_and_drain()
    {
        using var engine = new EngineBackend(_models.Long, new SchedulerOptions { MaxConcurrent = 1, MaxQueue = 1, RequestTimeout = null });
        using var cancel = new CancellationTokenSource();
        var running = engine.Submit("runs long", Greedy with { MaxTokens = 6000 }, cancel.Token);
        Assert.True(await running.Text.WaitToReadAsync());
        var queued = engine.Submit("waits", Greedy);
        Assert.Equal((1, 1), (engine.Running, engine.Waiting));
        Assert.Throws<QueueFullException>(() => engine.Submit("one too many", Greedy));
        Assert.Throws<PromptTooLongException>(() => engine.Submit(new string('x', 9000), Greedy));

        // Cancelling the long one lets the queued one run.
        await cancel.CancelAsync();
        Assert.Equal(FinishReason.Cancelled, (await running.Completion.WaitAsync(TimeSpan.FromSeconds(30))).FinishReason);
        Assert.Equal(FinishReason.Length, (await queued.Completion.WaitAsync(TimeSpan.FromSeconds(30))).FinishReason);

        var last = engine.Submit("drain me", Greedy);
        Assert.True(await engine.DrainAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(FinishReason.Length, (await last.Completion).FinishReason);
        Assert.Throws<SchedulerClosedException>(() => engine.Submit("too late", Greedy));
        Assert.Equal(0, engine.KvBlocksUsed);
    }

    [Fact]
    public async Task The_request_timeout_ends_a_generation_as_deadline_exceeded()
    {
        using var engine = new EngineBackend(_models.Long, new SchedulerOptions { RequestTimeout = TimeSpan.FromMilliseconds(300) });
        var result = await engine.GenerateAsync("runs long", Greedy with { MaxTokens = 6000 }).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(FinishReason.DeadlineExceeded, result.FinishReason);
        Assert.True(result.CompletionTokens < 6000);
        Assert.Equal(0, engine.KvBlocksUsed);
    }

    [Fact]
    public async Task Drain_cancels_what_is_left_when_the_grace_period_ends()
    {
        using var engine = new EngineBackend(_models.Long, new SchedulerOptions { RequestTimeout = null });
        var running = engine.Submit("runs long", Greedy with { MaxTokens = 6000 });
        Assert.True(await running.Text.WaitToReadAsync());
        using var grace = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        Assert.False(await engine.DrainAsync(grace.Token));
        Assert.Equal(FinishReason.Cancelled, (await running.Completion.WaitAsync(TimeSpan.FromSeconds(30))).FinishReason);
    }

    [Fact]
    public void A_model_without_dynamic_batching_is_refused()
    {
        using var plain = LlmModel.Load(new EngineOptions { ModelPath = Models.Tiny });
        var error = Assert.Throws<ModelLoadException>(() => new EngineBackend(plain, new SchedulerOptions()));
        Assert.Contains("engine.dynamic_batching", error.Message, StringComparison.Ordinal);
    }
}
