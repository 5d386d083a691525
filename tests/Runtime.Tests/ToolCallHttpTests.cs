using System.Net;
using System.Text.Json.Nodes;
using LlmInfra.Runtime.Tests.Infrastructure;

namespace LlmInfra.Runtime.Tests;

/// <summary>
/// Tools over raw HTTP. Parallel calls are turned off where a test needs the reply to end: the random-weight model
/// would happily keep adding calls to the list until max_tokens.
/// </summary>
public abstract class ToolCallHttpTestsContract(RuntimeServer server)
{
    private readonly HttpClient _client = server.Client;

    private static readonly JsonObject Weather = JsonNode.Parse("""
        {"type":"function","function":{"name":"get_weather","description":"Weather in a city",
         "parameters":{"type":"object","properties":{"city":{"enum":["Paris","Oslo"]},"days":{"type":"integer","minimum":1,"maximum":7}},
                       "required":["city","days"],"additionalProperties":false}}}
        """)!.AsObject();

    [Fact]
    public async Task A_parameters_schema_the_guidance_compiler_refuses_is_a_400_naming_tools()
    {
        var tool = JsonNode.Parse("""{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"a":{"type":"string","format":"nonsense"}}}}}""");
        using var response = await _client.PostJsonAsync("/v1/chat/completions", Http.Chat("hi", 8, new { tools = new[] { tool }, tool_choice = "required" }));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("tools", (string?)(await response.JsonAsync())["error"]!["param"]);
    }

    [Fact]
    public async Task Required_tool_call_is_returned_as_tool_calls_and_streamed_as_deltas()
    {
        var body = Http.Chat("What is the weather in Paris?", 64, new { tools = new[] { Weather }, tool_choice = "required", parallel_tool_calls = false });
        using var response = await _client.PostJsonAsync("/v1/chat/completions", body);
        var choice = (await response.JsonAsync())["choices"]![0]!;
        Assert.Equal("tool_calls", (string?)choice["finish_reason"]);
        var message = choice["message"]!;
        Assert.Null(message["content"]);
        var call = message["tool_calls"]![0]!;
        Assert.StartsWith("call_", (string?)call["id"]);
        Assert.Equal("function", (string?)call["type"]);
        Assert.Equal("get_weather", (string?)call["function"]!["name"]);
        var arguments = JsonNode.Parse((string)call["function"]!["arguments"]!)!;
        Assert.Contains((string?)arguments["city"], new[] { "Paris", "Oslo" });
        Assert.InRange((int)arguments["days"]!, 1, 7);

        // Streamed: the first delta of a call has its id, type and name; the arguments pieces add up to the same JSON.
        var streamBody = Http.Chat("What is the weather in Paris?", 64, new { tools = new[] { Weather }, tool_choice = "required", parallel_tool_calls = false, stream = true });
        using var stream = await _client.OpenStreamAsync("/v1/chat/completions", streamBody);
        var events = await stream.ReadAllEventsAsync();
        Assert.Equal("[DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonNode.Parse(e)!["choices"]![0]!).ToList();
        var deltas = chunks.Select(c => c["delta"]!["tool_calls"]?[0]).Where(d => d is not null).ToList();
        Assert.Equal((string?)call["function"]!["name"], (string?)deltas[0]!["function"]!["name"]);
        Assert.StartsWith("call_", (string?)deltas[0]!["id"]);
        Assert.All(deltas.Skip(1), d => Assert.Null(d!["id"]));
        Assert.All(deltas, d => Assert.Equal(0, (int)d!["index"]!));
        Assert.Equal((string?)call["function"]!["arguments"], string.Concat(deltas.Select(d => (string?)d!["function"]!["arguments"])));
        Assert.Equal("tool_calls", (string?)chunks[^1]["finish_reason"]);
    }

    [Fact]
    public async Task Tool_choice_none_and_auto_never_return_malformed_calls()
    {
        foreach (var choice in new[] { "none", "auto" })
        {
            using var response = await _client.PostJsonAsync("/v1/chat/completions", Http.Chat("Hello", 24, new { tools = new[] { Weather }, tool_choice = choice }));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var result = (await response.JsonAsync())["choices"]![0]!;
            var message = result["message"]!;
            if (message["tool_calls"] is JsonArray calls)
            {
                Assert.Equal("auto", choice);
                Assert.Equal("tool_calls", (string?)result["finish_reason"]);
                Assert.All(calls, c => JsonNode.Parse((string)c!["function"]!["arguments"]!));
            }
            else
            {
                var content = (string)message["content"]!;
                Assert.NotEmpty(content);
                // Under auto a text reply never starts with '[': that opens a call list, returned as text only
                // when max_tokens cut it.
                if (choice == "auto" && content[0] == '[') Assert.Equal("length", (string?)result["finish_reason"]);
            }
        }
    }
}

/// <summary>On the plain model, served by the cohort scheduler.</summary>
[Collection(LongContextServerCollection.Name)]
public sealed class ToolCallHttpTests(LongContextServerFixture fixture) : ToolCallHttpTestsContract(fixture.Server);

/// <summary>The same on the paged variant of the model, served by GenAI's Engine (continuous batching).</summary>
[Collection(PagedLongContextServerCollection.Name)]
public sealed class EngineToolCallHttpTests(PagedLongContextServerFixture fixture) : ToolCallHttpTestsContract(fixture.Server);
