using System.Net;
using System.Text.Json.Nodes;
using LlmInfra.Runtime.Tests.Infrastructure;

namespace LlmInfra.Runtime.Tests;

/// <summary>response_format and n over raw HTTP: the wire format and the 400s the guidance compiler causes.</summary>
public abstract class StructuredOutputTestsContract(RuntimeServer server)
{
    private readonly HttpClient _client = server.Client;

    [Theory]
    [InlineData("""{"type":"json_schema","json_schema":{"name":"bad","schema":{"type":"wizard"}}}""", "response_format")]
    [InlineData("""{"type":"json_schema","json_schema":{"name":"bad","schema":{"type":"string","pattern":"("}}}""", "response_format")]
    [InlineData("""{"type":"json_schema","json_schema":{"name":"bad","schema":{"$ref":"#/$defs/missing"}}}""", "response_format")]
    public async Task A_schema_the_guidance_compiler_refuses_is_a_400_naming_response_format(string format, string param)
    {
        foreach (var stream in new[] { false, true })
        {
            using var response = await _client.PostJsonAsync("/v1/chat/completions", Http.Chat("hi", 8, new { response_format = JsonNode.Parse(format), stream }));
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var error = (await response.JsonAsync())["error"]!;
            Assert.Equal(param, (string?)error["param"]);
            Assert.Equal("invalid_guidance", (string?)error["code"]);
            Assert.Contains("response_format", (string?)error["message"]);
        }
    }

    [Fact]
    public async Task Json_object_reply_parses_as_an_object()
    {
        using var response = await _client.PostJsonAsync("/v1/chat/completions", Http.Chat("Reply in JSON", 64, new { response_format = new { type = "json_object" } }));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var choice = (await response.JsonAsync())["choices"]![0]!;
        Assert.Equal("stop", (string?)choice["finish_reason"]);
        Assert.IsType<JsonObject>(JsonNode.Parse((string)choice["message"]!["content"]!));
    }

    [Fact]
    public async Task N_choices_are_indexed_streamed_by_index_and_usage_is_summed()
    {
        using var response = await _client.PostJsonAsync("/v1/chat/completions", Http.Chat("Tell me", 5, new { n = 3, temperature = 1.0, seed = 11 }));
        var json = await response.JsonAsync();
        var choices = json["choices"]!.AsArray();
        Assert.Equal([0, 1, 2], choices.Select(c => (int)c!["index"]!));
        Assert.Equal(15, (int)json["usage"]!["completion_tokens"]!);
        Assert.Equal(0, (int)json["usage"]!["prompt_tokens_details"]!["cached_tokens"]!);
        // A seed makes the set reproducible; its members use seed, seed+1, ... and so differ.
        using var again = await _client.PostJsonAsync("/v1/chat/completions", Http.Chat("Tell me", 5, new { n = 3, temperature = 1.0, seed = 11 }));
        var texts = choices.Select(c => (string?)c!["message"]!["content"]).ToList();
        Assert.Equal(texts, (await again.JsonAsync())["choices"]!.AsArray().Select(c => (string?)c!["message"]!["content"]));
        Assert.True(texts.Distinct().Count() > 1);

        using var stream = await _client.OpenStreamAsync("/v1/chat/completions",
            Http.Chat("Tell me", 5, new { n = 3, temperature = 1.0, seed = 11, stream = true, stream_options = new { include_usage = true } }));
        var events = await stream.ReadAllEventsAsync();
        var chunks = events[..^1].Select(e => JsonNode.Parse(e)!).ToList();
        var streamed = new string[3];
        foreach (var chunk in chunks.Where(c => c["choices"]!.AsArray().Count > 0))
        {
            var c = chunk["choices"]![0]!;
            streamed[(int)c["index"]!] += (string?)c["delta"]!["content"];
        }
        Assert.Equal(texts, streamed);
        Assert.Equal(3, chunks.Count(c => c["choices"]!.AsArray() is [{ } x] && (string?)x["finish_reason"] == "length"));
        Assert.Equal(15, (int)chunks[^1]["usage"]!["completion_tokens"]!);
    }

    [Fact]
    public async Task N_on_completions_gives_indexed_choices()
    {
        using var response = await _client.PostJsonAsync("/v1/completions", Http.Completion("Once", 4, new { n = 2 }));
        var choices = (await response.OkJsonAsync())["choices"]!.AsArray();
        Assert.Equal([0, 1], choices.Select(c => (int)c!["index"]!));
        // Greedy: both choices are the same text.
        Assert.Equal((string?)choices[0]!["text"], (string?)choices[1]!["text"]);
    }
}

/// <summary>On the plain model, served by the cohort scheduler.</summary>
[Collection(SharedServerCollection.Name)]
public sealed class StructuredOutputTests(SharedServerFixture fixture) : StructuredOutputTestsContract(fixture.Server);

/// <summary>The same on the paged variant of the model, served by GenAI's Engine (continuous batching).</summary>
[Collection(PagedServerCollection.Name)]
public sealed class EngineStructuredOutputTests(PagedServerFixture fixture) : StructuredOutputTestsContract(fixture.Server)
{
    [Fact]
    public async Task A_repeated_prefix_is_reported_as_cached_tokens()
    {
        // Several KV blocks (16 tokens each) of shared system prompt: the second request reuses them.
        var system = string.Concat(Enumerable.Repeat("You answer briefly and politely. ", 4));
        object Body(string question) => new
        {
            model = RuntimeServer.ModelName, max_tokens = 2, temperature = 0,
            messages = new object[] { new { role = "system", content = system }, new { role = "user", content = question } },
        };
        using var cold = await fixture.Server.Client.PostJsonAsync("/v1/chat/completions", Body("first question"));
        using var warm = await fixture.Server.Client.PostJsonAsync("/v1/chat/completions", Body("second question"));
        var usage = (await warm.JsonAsync())["usage"]!;
        var cached = (int)usage["prompt_tokens_details"]!["cached_tokens"]!;
        Assert.InRange(cached, 16, (int)usage["prompt_tokens"]! - 1);
    }
}
