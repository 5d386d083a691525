using System.Net;
using LlmInfra.Engine;
using LlmInfra.Runtime.Hosting;
using LlmInfra.Runtime.Tests.Infrastructure;

namespace LlmInfra.Runtime.Tests;

/// <summary>Cancellation, back-pressure and draining, each on its own server with a long-running model.</summary>
public sealed class LifecycleTests
{
    private static readonly Dictionary<string, string?> LongRequests = new() { ["Runtime:MaxTokensCap"] = "10000" };

    [Fact]
    public async Task Health_and_readiness_report_a_loaded_model()
    {
        await using var server = await RuntimeServer.StartAsync();
        using var health = await server.Client.GetAsync("/healthz");
        using var ready = await server.Client.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("ready", (string?)(await ready.JsonAsync())["status"]);
    }

    [Theory]
    [InlineData(Backend.Scheduler)]
    [InlineData(Backend.Engine)]
    public async Task Client_disconnect_cancels_its_generation(Backend backend)
    {
        await using var server = await RuntimeServer.StartAsync(Models.LongFor(backend), LongRequests);
        var finished = new TaskCompletionSource<GenerationResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        server.Host.Scheduler!.Completed += r => finished.TrySetResult(r);

        using (var client = new HttpClient { BaseAddress = server.BaseAddress })
        {
            client.DefaultRequestHeaders.Authorization = server.Client.DefaultRequestHeaders.Authorization;
            using var response = await client.OpenStreamAsync("/v1/chat/completions", Http.Chat("go on forever", 9000, new { stream = true }));
            await using var enumerator = response.ReadEventsAsync().GetAsyncEnumerator();
            Assert.True(await enumerator.MoveNextAsync()); // role chunk
            Assert.True(await enumerator.MoveNextAsync()); // first token: generation is running
        } // disposing the response and client closes the connection mid-stream

        var result = await finished.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(FinishReason.Cancelled, result.FinishReason);
        Assert.True(result.CompletionTokens < 9000);
        // The slot is released just after the result is published, once the generator is disposed.
        await Poll.UntilAsync(() => Task.FromResult(server.Host.Scheduler.Running == 0));
        await Poll.UntilAsync(
            async () => MetricsText.Value(await server.Client.ScrapeAsync(), "llm_requests_total{model=\"tiny\",outcome=\"cancelled\"}") >= 1,
            describe: async () => string.Join("; ", (await server.Client.ScrapeAsync()).Split('\n').Where(l => l.StartsWith("llm_requests_total{", StringComparison.Ordinal))));
    }

    [Theory]
    [InlineData(Backend.Scheduler)]
    [InlineData(Backend.Engine)]
    public async Task Full_queue_gets_429_with_retry_after(Backend backend)
    {
        var settings = new Dictionary<string, string?>(LongRequests) { ["Runtime:MaxConcurrent"] = "1", ["Runtime:MaxQueue"] = "0" };
        await using var server = await RuntimeServer.StartAsync(Models.LongFor(backend), settings);
        using var cancelLong = new CancellationTokenSource();
        using var running = await server.Client.OpenStreamAsync("/v1/completions", Http.Completion("hold the slot", 9000, new { stream = true }), cancelLong.Token);
        await using (var events = running.ReadEventsAsync().GetAsyncEnumerator(cancelLong.Token))
        {
            Assert.True(await events.MoveNextAsync());

            using var rejected = await server.Client.PostJsonAsync("/v1/completions", Http.Completion("one more"));
            Assert.Equal(HttpStatusCode.TooManyRequests, rejected.StatusCode);
            Assert.NotNull(rejected.Headers.RetryAfter);
            var error = (await rejected.JsonAsync())["error"]!;
            Assert.Equal("queue_full", (string?)error["code"]);
            Assert.Equal("rate_limit_error", (string?)error["type"]);
            await cancelLong.CancelAsync();
        }
        var metrics = await server.Client.ScrapeAsync();
        Assert.True(MetricsText.Value(metrics, "llm_requests_total{model=\"tiny\",outcome=\"rejected\"}") >= 1);
    }

    [Fact]
    public async Task N_choices_that_do_not_all_fit_get_429_and_leave_nothing_queued()
    {
        var settings = new Dictionary<string, string?>(LongRequests) { ["Runtime:MaxConcurrent"] = "1", ["Runtime:MaxQueue"] = "2" };
        await using var server = await RuntimeServer.StartAsync(Models.Long, settings);
        using var cancelLong = new CancellationTokenSource();
        using var running = await server.Client.OpenStreamAsync("/v1/completions", Http.Completion("hold the slot", 9000, new { stream = true }), cancelLong.Token);
        await using (var events = running.ReadEventsAsync().GetAsyncEnumerator(cancelLong.Token))
        {
            Assert.True(await events.MoveNextAsync());

            // Two places are left; three choices do not fit, so none of them is queued.
            using var rejected = await server.Client.PostJsonAsync("/v1/completions", Http.Completion("three at once", 4, new { n = 3 }));
            Assert.Equal(HttpStatusCode.TooManyRequests, rejected.StatusCode);
            Assert.Equal(0, server.Host.Scheduler!.Waiting);
            Assert.Equal(1, server.Host.Scheduler.Running);
            await cancelLong.CancelAsync();
        }
    }

    [Theory]
    [InlineData(Backend.Scheduler)]
    [InlineData(Backend.Engine)]
    public async Task Shutdown_drains_in_flight_requests_and_refuses_new_ones(Backend backend)
    {
        var server = await RuntimeServer.StartAsync(Models.LongFor(backend), LongRequests);
        try
        {
            using var inFlight = await server.Client.OpenStreamAsync("/v1/chat/completions", Http.Chat("finish me", 3000, new { stream = true }));
            var events = inFlight.ReadEventsAsync().GetAsyncEnumerator();
            Assert.True(await events.MoveNextAsync());
            Assert.True(await events.MoveNextAsync());

            var stopping = server.App.StopAsync();
            await Poll.UntilAsync(() => Task.FromResult(server.Host.State == ServingState.Draining));

            using var ready = await server.Client.GetAsync("/readyz");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
            using var refused = await server.Client.PostJsonAsync("/v1/chat/completions", Http.Chat("too late"));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.Equal("service_unavailable", (string?)(await refused.JsonAsync())["error"]!["code"]);

            var last = "";
            while (await events.MoveNextAsync()) last = events.Current;
            Assert.Equal("[DONE]", last);
            await stopping.WaitAsync(TimeSpan.FromSeconds(60));
            await events.DisposeAsync();
        }
        finally
        {
            await server.DisposeAsync();
        }
    }
}

/// <summary>For state that has no event to await (another process, a metric): check, then retry briefly, bounded.</summary>
public static class Poll
{
    public static async Task UntilAsync(Func<Task<bool>> condition, int timeoutMs = 15_000, Func<Task<string>>? describe = null)
    {
        var deadline = Environment.TickCount64 + timeoutMs;
        while (!await condition())
        {
            if (Environment.TickCount64 > deadline)
                throw new TimeoutException("Condition not met in time." + (describe is null ? "" : " Last seen: " + await describe()));
            await Task.Delay(20);
        }
    }
}
