using System.Net;
using LlmInfra.Runtime.Tests.Infrastructure;

namespace LlmInfra.Runtime.Tests;

[Collection(SharedServerCollection.Name)]
public sealed class CompletionsTests(SharedServerFixture fixture)
{
    private readonly HttpClient _client = fixture.Server.Client;

    [Fact]
    public async Task Chat_completion_returns_text_finish_reason_and_usage()
    {
        using var response = await _client.PostJsonAsync("/v1/chat/completions", Http.Chat("Hello there", maxTokens: 12));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.JsonAsync();

        Assert.Equal("chat.completion", (string?)body["object"]);
        Assert.StartsWith("chatcmpl-", (string?)body["id"]);
        Assert.Equal(RuntimeServer.ModelName, (string?)body["model"]);
        var choice = body["choices"]![0]!;
        Assert.Equal("assistant", (string?)choice["message"]!["role"]);
        Assert.False(string.IsNullOrEmpty((string?)choice["message"]!["content"]));
        Assert.Equal("length", (string?)choice["finish_reason"]);

        var expectedPrompt = fixture.Server.Host.Scheduler!.Model.Encode(
            fixture.Server.Host.Scheduler.Model.ApplyChatTemplate([new("user", "Hello there")])).Length;
        Assert.Equal(expectedPrompt, (int)body["usage"]!["prompt_tokens"]!);
        Assert.Equal(12, (int)body["usage"]!["completion_tokens"]!);
        Assert.Equal(expectedPrompt + 12, (int)body["usage"]!["total_tokens"]!);
    }

    [Fact]
    public async Task Text_completion_returns_text_and_usage()
    {
        using var response = await _client.PostJsonAsync("/v1/completions", Http.Completion("Once upon a time", maxTokens: 7));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.JsonAsync();

        Assert.Equal("text_completion", (string?)body["object"]);
        Assert.False(string.IsNullOrEmpty((string?)body["choices"]![0]!["text"]));
        Assert.Equal("length", (string?)body["choices"]![0]!["finish_reason"]);
        Assert.Equal(fixture.Server.Host.Scheduler!.Model.Encode("Once upon a time").Length, (int)body["usage"]!["prompt_tokens"]!);
        Assert.Equal(7, (int)body["usage"]!["completion_tokens"]!);
    }

    [Fact]
    public async Task Greedy_decoding_is_deterministic()
    {
        var first = await TextAsync(Http.Completion("determinism", 24));
        var second = await TextAsync(Http.Completion("determinism", 24));
        Assert.Equal(first, second);
    }

    [Fact]
    public async Task Sampling_with_a_seed_is_deterministic()
    {
        var sampling = new { temperature = 1.0, top_p = 0.95, top_k = 40, seed = 1234 };
        var first = await TextAsync(Http.Completion("seeded", 32, sampling));
        var second = await TextAsync(Http.Completion("seeded", 32, sampling));
        Assert.Equal(first, second);
    }

    [Fact]
    public async Task Different_seeds_give_different_samples()
    {
        var a = await TextAsync(Http.Completion("seeded", 32, new { temperature = 1.5, seed = 1 }));
        var b = await TextAsync(Http.Completion("seeded", 32, new { temperature = 1.5, seed = 2 }));
        Assert.NotEqual(a, b);
    }

    [Fact]
    public async Task Stop_string_truncates_the_reply_and_reports_stop()
    {
        var full = await TextAsync(Http.Completion("stop strings", 40));
        var stop = full.Substring(10, 3);
        var expected = full[..full.IndexOf(stop, StringComparison.Ordinal)];

        using var response = await _client.PostJsonAsync("/v1/completions", Http.Completion("stop strings", 40, new { stop = new[] { "never-appears", stop } }));
        var body = await response.JsonAsync();
        Assert.Equal(expected, (string?)body["choices"]![0]!["text"]);
        Assert.Equal("stop", (string?)body["choices"]![0]!["finish_reason"]);
        Assert.True((int)body["usage"]!["completion_tokens"]! < 40);
    }

    [Fact]
    public async Task Models_endpoint_lists_the_served_model()
    {
        using var response = await _client.GetAsync("/v1/models");
        var body = await response.JsonAsync();
        Assert.Equal("list", (string?)body["object"]);
        var model = Assert.Single(body["data"]!.AsArray());
        Assert.Equal(RuntimeServer.ModelName, (string?)model!["id"]);
        Assert.Equal("model", (string?)model["object"]);
    }

    [Fact]
    public async Task Chat_accepts_content_parts_and_system_messages()
    {
        var body = new
        {
            model = RuntimeServer.ModelName,
            max_tokens = 4,
            messages = new object[]
            {
                new { role = "developer", content = "Be brief." },
                new { role = "user", content = new[] { new { type = "text", text = "Hi" } } },
            },
        };
        using var response = await _client.PostJsonAsync("/v1/chat/completions", body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private async Task<string> TextAsync(object body)
    {
        using var response = await _client.PostJsonAsync("/v1/completions", body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (string)(await response.JsonAsync())["choices"]![0]!["text"]!;
    }
}
