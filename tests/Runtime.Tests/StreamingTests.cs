using System.Net;
using System.Text.Json.Nodes;
using LlmInfra.Runtime.Tests.Infrastructure;

namespace LlmInfra.Runtime.Tests;

[Collection(SharedServerCollection.Name)]
public sealed class StreamingTests(SharedServerFixture fixture)
{
    private readonly HttpClient _client = fixture.Server.Client;

    [Fact]
    public async Task Chat_stream_sends_chunks_then_done_and_matches_the_plain_reply()
    {
        using var plain = await _client.PostJsonAsync("/v1/chat/completions", Http.Chat("stream me", 20));
        var expected = (string)(await plain.JsonAsync())["choices"]![0]!["message"]!["content"]!;

        using var response = await _client.OpenStreamAsync("/v1/chat/completions", Http.Chat("stream me", 20, new { stream = true }));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var events = await response.ReadAllEventsAsync();

        Assert.Equal("[DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonNode.Parse(e)!).ToList();
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", (string?)c["object"]));
        Assert.Single(chunks.Select(c => (string?)c["id"]).Distinct());
        Assert.Equal("assistant", (string?)chunks[0]["choices"]![0]!["delta"]!["role"]);
        Assert.Equal("length", (string?)chunks[^1]["choices"]![0]!["finish_reason"]);
        Assert.All(chunks[..^1], c => Assert.Null((string?)c["choices"]![0]!["finish_reason"]));
        Assert.DoesNotContain(chunks, c => c["usage"] is not null);

        var text = string.Concat(chunks.Select(c => (string?)c["choices"]![0]!["delta"]!["content"] ?? ""));
        Assert.Equal(expected, text);
    }

    [Fact]
    public async Task Include_usage_adds_a_final_usage_chunk()
    {
        using var response = await _client.OpenStreamAsync("/v1/chat/completions",
            Http.Chat("usage please", 9, new { stream = true, stream_options = new { include_usage = true } }));
        var events = await response.ReadAllEventsAsync();

        Assert.Equal("[DONE]", events[^1]);
        var usageChunk = JsonNode.Parse(events[^2])!;
        Assert.Empty(usageChunk["choices"]!.AsArray());
        Assert.Equal(9, (int)usageChunk["usage"]!["completion_tokens"]!);
        Assert.True((int)usageChunk["usage"]!["prompt_tokens"]! > 0);
    }

    [Fact]
    public async Task Text_completion_streams_text_completion_objects()
    {
        using var response = await _client.OpenStreamAsync("/v1/completions", Http.Completion("stream text", 6, new { stream = true }));
        var events = await response.ReadAllEventsAsync();

        Assert.Equal("[DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonNode.Parse(e)!).ToList();
        Assert.All(chunks, c => Assert.Equal("text_completion", (string?)c["object"]));
        Assert.Equal("length", (string?)chunks[^1]["choices"]![0]!["finish_reason"]);
        Assert.NotEmpty(string.Concat(chunks.Select(c => (string?)c["choices"]![0]!["text"])));
    }

    [Fact]
    public async Task Streamed_stop_string_is_never_sent()
    {
        using var plain = await _client.PostJsonAsync("/v1/completions", Http.Completion("stream stop", 40));
        var full = (string)(await plain.JsonAsync())["choices"]![0]!["text"]!;
        var stop = full.Substring(12, 4);

        using var response = await _client.OpenStreamAsync("/v1/completions", Http.Completion("stream stop", 40, new { stream = true, stop }));
        var events = await response.ReadAllEventsAsync();
        var chunks = events[..^1].Select(e => JsonNode.Parse(e)!).ToList();
        var text = string.Concat(chunks.Select(c => (string?)c["choices"]![0]!["text"]));

        Assert.Equal(full[..full.IndexOf(stop, StringComparison.Ordinal)], text);
        Assert.Equal("stop", (string?)chunks[^1]["choices"]![0]!["finish_reason"]);
    }
}
