using System.ClientModel;
using System.Text.Json.Nodes;
using LlmInfra.Runtime.Tests.Infrastructure;
using OpenAI.Chat;

namespace LlmInfra.Runtime.Tests;

/// <summary>Structured output and tool calls through the official OpenAI .NET client.</summary>
public abstract class OpenAiToolsClientTestsContract(RuntimeServer server)
{
    private ChatClient Client() => server.ChatClient();

    private static readonly BinaryData WeatherParameters = BinaryData.FromString("""
        {"type":"object","properties":{"city":{"enum":["Paris","Oslo"]},"unit":{"enum":["C","F"]}},"required":["city","unit"],"additionalProperties":false}
        """);

    private static ChatTool Weather => ChatTool.CreateFunctionTool("get_weather", "Current weather in a city", WeatherParameters);

    [Fact]
    public async Task Structured_output_follows_a_strict_json_schema()
    {
        var schema = BinaryData.FromString("""
            {"type":"object","properties":{"answer":{"enum":["yes","no"]},"confidence":{"type":"integer","minimum":0,"maximum":100},
             "reasons":{"type":"array","items":{"type":"string","maxLength":8},"maxItems":2}},
             "required":["answer","confidence","reasons"],"additionalProperties":false}
            """);
        var options = new ChatCompletionOptions
        {
            MaxOutputTokenCount = 120,
            Temperature = 0.8f,
            ResponseFormat = ChatResponseFormat.CreateJsonSchemaFormat("verdict", schema, jsonSchemaIsStrict: true),
        };
        ChatCompletion completion = await Client().CompleteChatAsync([new UserChatMessage("Is the sky blue? Answer in JSON.")], options);

        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        var json = JsonNode.Parse(completion.Content[0].Text)!.AsObject();
        Assert.Equal(["answer", "confidence", "reasons"], json.Select(p => p.Key));
        Assert.Contains((string?)json["answer"], new[] { "yes", "no" });
        Assert.InRange((int)json["confidence"]!, 0, 100);
        Assert.InRange(json["reasons"]!.AsArray().Count, 0, 2);
        Assert.All(json["reasons"]!.AsArray(), r => Assert.InRange(((string)r!).Length, 0, 8));
    }

    [Fact]
    public async Task Tool_call_round_trip()
    {
        var options = new ChatCompletionOptions { MaxOutputTokenCount = 64, Temperature = 0f, Tools = { Weather }, ToolChoice = ChatToolChoice.CreateRequiredChoice(), AllowParallelToolCalls = false };
        List<ChatMessage> messages = [new UserChatMessage("What is the weather in Oslo?")];
        ChatCompletion call = await Client().CompleteChatAsync(messages, options);

        Assert.Equal(ChatFinishReason.ToolCalls, call.FinishReason);
        var toolCall = Assert.Single(call.ToolCalls);
        Assert.Equal("get_weather", toolCall.FunctionName);
        var arguments = JsonNode.Parse(toolCall.FunctionArguments.ToString())!;
        Assert.Contains((string?)arguments["city"], new[] { "Paris", "Oslo" });
        Assert.Contains((string?)arguments["unit"], new[] { "C", "F" });

        // The client sends the call back with the tool's result; the model answers in text.
        messages.Add(new AssistantChatMessage(call));
        messages.Add(new ToolChatMessage(toolCall.Id, "12 degrees, light rain"));
        var answerOptions = new ChatCompletionOptions { MaxOutputTokenCount = 12, Temperature = 0f, Tools = { Weather }, ToolChoice = ChatToolChoice.CreateNoneChoice() };
        ChatCompletion answer = await Client().CompleteChatAsync(messages, answerOptions);

        Assert.Empty(answer.ToolCalls);
        Assert.NotEmpty(answer.Content[0].Text);
        Assert.Equal(12, answer.Usage.OutputTokenCount);
        // The tool result reached the prompt: it is longer than the call's prompt by at least the result's text.
        Assert.True(answer.Usage.InputTokenCount > call.Usage.InputTokenCount + 10);

        // A tool message answering a call that was never made is refused, naming the field.
        var orphan = await Assert.ThrowsAsync<ClientResultException>(() =>
            Client().CompleteChatAsync([new UserChatMessage("hi"), new ToolChatMessage("call_nope", "x")], answerOptions));
        Assert.Equal(400, orphan.Status);
        Assert.Contains("messages[1].tool_call_id", orphan.Message);
    }

    [Fact]
    public async Task Streaming_tool_calls_match_the_plain_reply()
    {
        var options = new ChatCompletionOptions
        {
            MaxOutputTokenCount = 64, Temperature = 0f, Tools = { Weather }, ToolChoice = ChatToolChoice.CreateFunctionChoice("get_weather"),
        };
        ChatCompletion plain = await Client().CompleteChatAsync([new UserChatMessage("Weather in Paris?")], options);

        string? id = null, name = null;
        var arguments = "";
        ChatFinishReason? finish = null;
        await foreach (var update in Client().CompleteChatStreamingAsync([new UserChatMessage("Weather in Paris?")], options))
        {
            foreach (var part in update.ToolCallUpdates)
            {
                Assert.Equal(0, part.Index);
                id ??= part.ToolCallId;
                name ??= part.FunctionName;
                arguments += part.FunctionArgumentsUpdate?.ToString();
            }
            finish ??= update.FinishReason;
        }

        Assert.StartsWith("call_", id);
        Assert.Equal("get_weather", name);
        Assert.Equal(plain.ToolCalls[0].FunctionArguments.ToString(), arguments);
        Assert.Equal(ChatFinishReason.ToolCalls, finish);
    }
}

/// <summary>On the plain model, served by the cohort scheduler.</summary>
[Collection(LongContextServerCollection.Name)]
public sealed class OpenAiToolsClientTests(LongContextServerFixture fixture) : OpenAiToolsClientTestsContract(fixture.Server);

/// <summary>The same on the paged variant of the model, served by GenAI's Engine (continuous batching).</summary>
[Collection(PagedLongContextServerCollection.Name)]
public sealed class EngineOpenAiToolsClientTests(PagedLongContextServerFixture fixture) : OpenAiToolsClientTestsContract(fixture.Server);
