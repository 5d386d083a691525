using LlmInfra.Engine;
using LlmInfra.Runtime.Tests.Infrastructure;

namespace LlmInfra.Runtime.Tests;

/// <summary>The engine library on its own, as an application embedding it would use it.</summary>
public sealed class EngineTests : IClassFixture<EngineTests.LongModel>
{
    private static readonly SamplingOptions Greedy = new() { Temperature = 0, MaxTokens = 16 };
    private readonly LlmModel _model;

    public EngineTests(LongModel fixture) => _model = fixture.Model;

    public sealed class LongModel : IDisposable
    {
        public LlmModel Model { get; } = LlmModel.Load(new EngineOptions { ModelPath = Models.Long });

        public void Dispose() => Model.Dispose();
    }

    /// <summary>A request that keeps the only worker busy for a while (thousands of tokens).</summary>
    private static Generation Blocker(GenerationScheduler scheduler, CancellationToken token) =>
        scheduler.Submit("blocker", Greedy with { MaxTokens = 6000 }, token);

    /// <summary>Like <see cref="Blocker"/>, returning once a worker has started it.</summary>
    private static async Task<Generation> RunningBlockerAsync(GenerationScheduler scheduler, CancellationToken token)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnStarted(int _) => started.TrySetResult();
        scheduler.BatchStarted += OnStarted;
        var blocker = Blocker(scheduler, token);
        await started.Task.WaitAsync(TimeSpan.FromSeconds(30));
        scheduler.BatchStarted -= OnStarted;
        return blocker;
    }

    [Fact]
    public async Task Batched_requests_get_the_same_tokens_as_requests_run_alone()
    {
        string[] prompts = ["alpha", "a much longer second prompt", "third", "the fourth one"];
        using var scheduler = new GenerationScheduler(_model, new SchedulerOptions { MaxConcurrent = 4, MaxBatchSize = 4 });
        var alone = new List<string>();
        foreach (var prompt in prompts)
            alone.Add((await scheduler.GenerateAsync(prompt, Greedy)).Text);

        using var stop = new CancellationTokenSource();
        var blocker = await RunningBlockerAsync(scheduler, stop.Token);
        var batchSizes = new List<int>();
        scheduler.BatchStarted += size => { lock (batchSizes) batchSizes.Add(size); };
        var together = prompts.Select(p => scheduler.Submit(p, Greedy)).ToList(); // queued behind the blocker
        stop.Cancel();
        var results = await Task.WhenAll(together.Select(g => g.Completion));

        Assert.Equal(FinishReason.Cancelled, (await blocker.Completion).FinishReason);
        Assert.Equal(alone, results.Select(r => r.Text));
        Assert.All(results, r => Assert.Equal(16, r.CompletionTokens));
        // Whether the worker admits them while the blocker still runs (3 + 1) or after it (4) depends on timing;
        // either way several of them shared one generator.
        lock (batchSizes) Assert.Contains(batchSizes, size => size > 1);
    }

    [Fact]
    public async Task Stream_yields_the_same_text_as_generate()
    {
        using var scheduler = new GenerationScheduler(_model, new SchedulerOptions());
        var full = await scheduler.GenerateAsync("streaming", Greedy);
        var pieces = new List<string>();
        await foreach (var piece in scheduler.StreamAsync("streaming", Greedy))
            pieces.Add(piece);
        Assert.Equal(full.Text, string.Concat(pieces));
        Assert.True(pieces.Count > 1);
    }

    [Fact]
    public async Task Chat_template_is_applied()
    {
        var prompt = _model.ApplyChatTemplate([new ChatMessage("system", "S"), new ChatMessage("user", "U")]);
        Assert.Equal("<|system|>\nS<|end|>\n<|user|>\nU<|end|>\n<|assistant|>\n", prompt);
        using var scheduler = new GenerationScheduler(_model, new SchedulerOptions());
        var result = await scheduler.SubmitChat([new ChatMessage("user", "U")], Greedy).Completion;
        Assert.Equal(16, result.CompletionTokens);
    }

    [Fact]
    public void Full_queue_is_refused()
    {
        using var scheduler = new GenerationScheduler(_model, new SchedulerOptions { MaxConcurrent = 1, MaxBatchSize = 1, MaxQueue = 0 });
        using var stop = new CancellationTokenSource();
        Blocker(scheduler, stop.Token);
        var ex = Assert.Throws<QueueFullException>(() => scheduler.Submit("more", Greedy));
        Assert.Equal(1, ex.Capacity);
        stop.Cancel();
    }

    [Fact]
    public async Task Cancelling_a_queued_request_removes_it()
    {
        using var scheduler = new GenerationScheduler(_model, new SchedulerOptions { MaxConcurrent = 1, MaxBatchSize = 1, MaxQueue = 4 });
        using var stopBlocker = new CancellationTokenSource();
        var blocker = await RunningBlockerAsync(scheduler, stopBlocker.Token);
        using var cancel = new CancellationTokenSource();
        var queued = scheduler.Submit("queued", Greedy, cancel.Token);
        Assert.Equal(1, scheduler.Waiting);

        cancel.Cancel();
        var result = await queued.Completion;
        Assert.Equal(FinishReason.Cancelled, result.FinishReason);
        Assert.Null(result.TimeToFirstToken);
        Assert.Equal(0, result.CompletionTokens);
        Assert.Equal(0, scheduler.Waiting);

        stopBlocker.Cancel();
        Assert.Equal(FinishReason.Cancelled, (await blocker.Completion).FinishReason);
    }

    [Fact]
    public async Task Request_timeout_ends_a_generation()
    {
        using var scheduler = new GenerationScheduler(_model, new SchedulerOptions { RequestTimeout = TimeSpan.FromMilliseconds(100) });
        var result = await scheduler.GenerateAsync("slow", Greedy with { MaxTokens = 8000 });
        Assert.Equal(FinishReason.DeadlineExceeded, result.FinishReason);
        Assert.True(result.CompletionTokens < 8000);
    }

    [Fact]
    public async Task Drain_finishes_in_flight_work_and_refuses_new_work()
    {
        using var scheduler = new GenerationScheduler(_model, new SchedulerOptions());
        var inFlight = scheduler.Submit("in flight", Greedy with { MaxTokens = 200 });
        Assert.True(await scheduler.DrainAsync(CancellationToken.None));
        Assert.Equal(200, (await inFlight.Completion).CompletionTokens);
        Assert.Throws<SchedulerClosedException>(() => scheduler.Submit("late", Greedy));
    }

    [Fact]
    public async Task Drain_cancels_what_is_left_when_the_grace_period_ends()
    {
        using var scheduler = new GenerationScheduler(_model, new SchedulerOptions());
        var inFlight = Blocker(scheduler, CancellationToken.None);
        using var grace = new CancellationTokenSource();
        var draining = scheduler.DrainAsync(grace.Token);
        grace.Cancel();
        Assert.False(await draining);
        Assert.Equal(FinishReason.Cancelled, (await inFlight.Completion).FinishReason);
    }

    [Fact]
    public void Prompt_longer_than_the_limit_is_refused()
    {
        using var scheduler = new GenerationScheduler(_model, new SchedulerOptions(), maxPromptTokens: 5);
        var ex = Assert.Throws<PromptTooLongException>(() => scheduler.Submit("one two three four five six seven", Greedy));
        Assert.Equal(5, ex.Limit);
        Assert.True(ex.PromptTokens > 5);
    }

    [Fact]
    public async Task End_of_text_stops_with_reason_stop()
    {
        using var model = LlmModel.Load(new EngineOptions { ModelPath = Models.EosAtOnce });
        using var scheduler = new GenerationScheduler(model, new SchedulerOptions());
        var result = await scheduler.GenerateAsync("anything", Greedy);
        Assert.Equal(FinishReason.Stop, result.FinishReason);
        Assert.Equal(0, result.CompletionTokens);
        Assert.Equal("", result.Text);
    }

    [Fact]
    public void Missing_folder_and_unavailable_provider_fail_with_a_clear_message()
    {
        var missing = Assert.Throws<ModelLoadException>(() => LlmModel.Load(new EngineOptions { ModelPath = "/nonexistent/model" }));
        Assert.Contains("does not exist", missing.Message);

        var empty = Directory.CreateTempSubdirectory();
        try
        {
            var notModel = Assert.Throws<ModelLoadException>(() => LlmModel.Load(new EngineOptions { ModelPath = empty.FullName }));
            Assert.Contains("genai_config.json", notModel.Message);
        }
        finally
        {
            empty.Delete();
        }

        var cuda = Assert.Throws<ModelLoadException>(() => LlmModel.Load(new EngineOptions { ModelPath = Models.Tiny, Provider = "cuda" }));
        Assert.Contains("cuda", cuda.Message);
        Assert.Contains("GenAIFlavor=cuda", cuda.Message);
    }
}

public sealed class StopSequenceMatcherTests
{
    [Fact]
    public void Without_stops_text_passes_through()
    {
        var matcher = new StopSequenceMatcher([]);
        Assert.Equal("abc", matcher.Append("abc", out var stopped));
        Assert.False(stopped);
    }

    [Fact]
    public void Stop_split_across_pieces_is_found_and_never_emitted()
    {
        var matcher = new StopSequenceMatcher(["END"]);
        Assert.Equal("hello ", matcher.Append("hello E", out var s1));
        Assert.False(s1);
        Assert.Equal("", matcher.Append("N", out var s2));
        Assert.False(s2);
        Assert.Equal("", matcher.Append("D and more", out var s3));
        Assert.True(s3);
    }

    [Fact]
    public void Held_back_text_is_released_when_it_stops_matching()
    {
        var matcher = new StopSequenceMatcher(["END"]);
        Assert.Equal("x", matcher.Append("xEN", out _));
        Assert.Equal("ENx", matcher.Append("x", out var stopped));
        Assert.False(stopped);
        Assert.Equal("", matcher.Flush());
        Assert.Equal("", matcher.Append("E", out _));
        Assert.Equal("E", matcher.Flush());
    }

    [Fact]
    public void Earliest_of_several_stops_wins()
    {
        var matcher = new StopSequenceMatcher(["zz", "b"]);
        Assert.Equal("a", matcher.Append("abzz", out var stopped));
        Assert.True(stopped);
    }
}
