using System.Net;
using LlmInfra.Runtime.Tests.Infrastructure;

namespace LlmInfra.Runtime.Tests;

[Collection(SharedServerCollection.Name)]
public sealed class ErrorsTests(SharedServerFixture fixture)
{
    private readonly HttpClient _client = fixture.Server.Client;

    public static TheoryData<string, string, string?> BadRequests => new()
    {
        // path, body, expected "param" (null: none)
        { "/v1/chat/completions", "{", null },
        { "/v1/chat/completions", "not json", null },
        { "/v1/chat/completions", "null", null },
        { "/v1/chat/completions", "[]", null },
        { "/v1/chat/completions", """{"messages":[{"role":"user","content":"hi"}],"temperature":"hot"}""", "temperature" },
        { "/v1/chat/completions", """{"messages":[{"role":"user","content":"hi"}],"max_tokens":1.5}""", "max_tokens" },
        { "/v1/chat/completions", """{"messages":[{"role":"user","content":"hi"}],"max_tokens":99999999999}""", "max_tokens" },
        { "/v1/chat/completions", """{"model":"gpt-4","messages":[{"role":"user","content":"hi"}]}""", "model" },
        { "/v1/chat/completions", """{"messages":[]}""", "messages" },
        { "/v1/chat/completions", """{}""", "messages" },
        { "/v1/chat/completions", """{"messages":"hi"}""", "messages" },
        { "/v1/chat/completions", """{"messages":[null]}""", "messages[0]" },
        { "/v1/chat/completions", """{"messages":[{"role":"wizard","content":"hi"}]}""", "messages[0].role" },
        { "/v1/chat/completions", """{"messages":[{"role":"user","content":42}]}""", "messages[0].content" },
        { "/v1/chat/completions", """{"messages":[{"role":"user","content":[{"type":"image_url"}]}]}""", "messages[0].content" },
        { "/v1/chat/completions", """{"messages":[{"role":"user","content":"hi"}],"temperature":2.5}""", "temperature" },
        { "/v1/chat/completions", """{"messages":[{"role":"user","content":"hi"}],"temperature":-1}""", "temperature" },
        { "/v1/chat/completions", """{"messages":[{"role":"user","content":"hi"}],"top_p":0}""", "top_p" },
        { "/v1/chat/completions", """{"messages":[{"role":"user","content":"hi"}],"top_p":1.5}""", "top_p" },
        { "/v1/chat/completions", """{"messages":[{"role":"user","content":"hi"}],"top_k":-1}""", "top_k" },
        { "/v1/chat/completions", """{"messages":[{"role":"user","content":"hi"}],"max_tokens":0}""", "max_tokens" },
        { "/v1/chat/completions", """{"messages":[{"role":"user","content":"hi"}],"max_tokens":100000}""", "max_tokens" },
        { "/v1/chat/completions", """{"messages":[{"role":"user","content":"hi"}],"max_completion_tokens":-3}""", "max_completion_tokens" },
        { "/v1/chat/completions", """{"messages":[{"role":"user","content":"hi"}],"n":0}""", "n" },
        { "/v1/chat/completions", """{"messages":[{"role":"user","content":"hi"}],"n":17}""", "n" },
        { "/v1/chat/completions", """{"messages":[{"role":"user","content":"hi"}],"logprobs":true}""", "logprobs" },
        { "/v1/chat/completions", """{"messages":[{"role":"user","content":"hi"}],"top_logprobs":2}""", "top_logprobs" },
        { "/v1/completions", """{"prompt":"hi","logprobs":0}""", "logprobs" },
        { "/v1/chat/completions", """{"messages":[{"role":"user","content":"hi"}],"response_format":"json"}""", "response_format" },
        { "/v1/chat/completions", """{"messages":[{"role":"user","content":"hi"}],"response_format":{}}""", "response_format.type" },
        { "/v1/chat/completions", """{"messages":[{"role":"user","content":"hi"}],"response_format":{"type":"yaml"}}""", "response_format.type" },
        { "/v1/chat/completions", """{"messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema"}}""", "response_format.json_schema" },
        { "/v1/chat/completions", """{"messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"schema":{}}}}""", "response_format.json_schema.name" },
        { "/v1/chat/completions", """{"messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"a b","schema":{}}}}""", "response_format.json_schema.name" },
        { "/v1/chat/completions", """{"messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"x"}}}""", "response_format.json_schema.schema" },
        { "/v1/chat/completions", """{"messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":[1]}}}""", "response_format.json_schema.schema" },
        { "/v1/chat/completions", """{"messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"x","strict":"yes","schema":{}}}}""", "response_format.json_schema.strict" },
        { "/v1/chat/completions", """{"messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"enum":["\ud800"]}}}}""", "response_format.json_schema.schema" },
        { "/v1/chat/completions", """{"messages":[{"role":"user","content":"hi"}],"tools":{}}""", "tools" },
        { "/v1/chat/completions", """{"messages":[{"role":"user","content":"hi"}],"tools":[]}""", "tools" },
        { "/v1/chat/completions", """{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"retrieval"}]}""", "tools[0].type" },
        { "/v1/chat/completions", """{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function"}]}""", "tools[0].function" },
        { "/v1/chat/completions", """{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"get weather"}}]}""", "tools[0].function.name" },
        { "/v1/chat/completions", """{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f"}},{"type":"function","function":{"name":"f"}}]}""", "tools[1].function.name" },
        { "/v1/chat/completions", """{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":"x"}}]}""", "tools[0].function.parameters" },
        { "/v1/chat/completions", """{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"string"}}}]}""", "tools[0].function.parameters" },
        { "/v1/chat/completions", """{"messages":[{"role":"user","content":"hi"}],"tool_choice":"auto"}""", "tool_choice" },
        { "/v1/chat/completions", """{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"always"}""", "tool_choice" },
        { "/v1/chat/completions", """{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"function","function":{"name":"g"}}}""", "tool_choice" },
        { "/v1/chat/completions", """{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f"}}],"parallel_tool_calls":"no"}""", "parallel_tool_calls" },
        { "/v1/chat/completions", """{"messages":[{"role":"user","content":"hi"},{"role":"tool","content":"42"}]}""", "messages[1].tool_call_id" },
        { "/v1/chat/completions", """{"messages":[{"role":"user","content":"hi"},{"role":"tool","tool_call_id":"call_1","content":"42"}]}""", "messages[1].tool_call_id" },
        { "/v1/chat/completions", """{"messages":[{"role":"user","content":"hi","tool_calls":[]}]}""", "messages[0].tool_calls" },
        { "/v1/chat/completions", """{"messages":[{"role":"assistant","tool_calls":{}}]}""", "messages[0].tool_calls" },
        { "/v1/chat/completions", """{"messages":[{"role":"assistant","tool_calls":[{"type":"function","function":{"name":"f","arguments":"{}"}}]}]}""", "messages[0].tool_calls[0].id" },
        { "/v1/chat/completions", """{"messages":[{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"[1]"}}]}]}""", "messages[0].tool_calls[0].function.arguments" },
        { "/v1/chat/completions", """{"messages":[{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{oops"}}]}]}""", "messages[0].tool_calls[0].function.arguments" },
        { "/v1/chat/completions", """{"messages":[{"role":"user","content":"hi"}],"stop":["a","b","c","d","e"]}""", "stop" },
        { "/v1/chat/completions", """{"messages":[{"role":"user","content":"hi"}],"stop":[""]}""", "stop" },
        { "/v1/chat/completions", """{"messages":[{"role":"user","content":"hi"}],"stop":7}""", "stop" },
        { "/v1/chat/completions", """{"messages":[{"role":"user","content":"hi"}],"stream_options":{"include_usage":true}}""", "stream_options" },
        { "/v1/chat/completions", """{"messages":[{"role":"user","content":"hi"}],"stream":"yes"}""", "stream" },
        { "/v1/completions", """{"prompt":""}""", "prompt" },
        { "/v1/completions", """{"max_tokens":3}""", "prompt" },
        { "/v1/completions", """{"prompt":["a","b"]}""", "prompt" },
        { "/v1/completions", """{"prompt":123}""", "prompt" },
        { "/v1/completions", """{"prompt":"hi","seed":"abc"}""", "seed" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task Bad_input_gets_400_in_openai_form_naming_the_field(string path, string body, string? param)
    {
        using var response = await _client.PostRawAsync(path, body);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await response.JsonAsync())["error"]!;
        Assert.Equal("invalid_request_error", (string?)error["type"]);
        Assert.False(string.IsNullOrEmpty((string?)error["message"]));
        Assert.Equal(param, (string?)error["param"]);
        Assert.True(error.AsObject().ContainsKey("code"));
    }

    [Fact]
    public async Task Prompt_longer_than_the_context_gets_400()
    {
        var prompt = string.Join(' ', Enumerable.Repeat("zq", 400)); // far more than 256 tokens
        using var response = await _client.PostJsonAsync("/v1/completions", Http.Completion(prompt));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await response.JsonAsync())["error"]!;
        Assert.Equal("context_length_exceeded", (string?)error["code"]);
        Assert.Equal("prompt", (string?)error["param"]);

        using var chat = await _client.PostJsonAsync("/v1/chat/completions", Http.Chat(prompt));
        Assert.Equal(HttpStatusCode.BadRequest, chat.StatusCode);
        Assert.Equal("messages", (string?)(await chat.JsonAsync())["error"]!["param"]);
    }

    [Fact]
    public async Task Oversized_body_gets_413_not_500()
    {
        var huge = new string('a', 2 * 1024 * 1024);
        using var response = await _client.PostJsonAsync("/v1/completions", Http.Completion(huge));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("request_too_large", (string?)(await response.JsonAsync())["error"]!["code"]);
    }

    [Fact]
    public async Task Unknown_api_path_gets_404_in_openai_form()
    {
        using var response = await _client.PostRawAsync("/v1/embeddings", "{}");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.NotNull((await response.JsonAsync())["error"]);
    }

    [Fact]
    public async Task Garbage_never_produces_a_server_error()
    {
        string[] bodies =
        [
            "", "{}", "[1,2", "\"str\"", "123", "{\"messages\":{}}", "{\"messages\":[{}]}", "{\"messages\":[{\"role\":null}]}",
            "{\"prompt\":{}}", "{\"temperature\":1e400}", "{\"max_tokens\":null,\"messages\":[{\"role\":\"user\",\"content\":null}]}",
            "{\"stop\":{\"a\":1}}", "{\"stream_options\":5}", "\u0000\u0001", "{\"messages\":[{\"role\":\"user\",\"content\":[1]}]}",
            """{"messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"enum":["\ud800"]}}}}""",
            """{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","description":"\ud800"}}]}""",
            """{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"properties":{"a":{"const":"\udfff"}}}}}],"tool_choice":"required"}""",
            """{"messages":[{"role":"assistant","tool_calls":[{"id":"\ud800","function":{"name":"f","arguments":"{}"}}]}]}""",
        ];
        foreach (var path in new[] { "/v1/chat/completions", "/v1/completions" })
        {
            foreach (var body in bodies)
            {
                using var response = await _client.PostRawAsync(path, body);
                Assert.True((int)response.StatusCode is >= 200 and < 500, $"{path} {body} -> {(int)response.StatusCode}");
            }
        }
    }
}
