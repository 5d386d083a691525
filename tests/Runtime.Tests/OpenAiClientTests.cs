using System.ClientModel;
using LlmInfra.Runtime.Tests.Infrastructure;
using OpenAI;
using OpenAI.Chat;

namespace LlmInfra.Runtime.Tests;

/// <summary>The official OpenAI .NET client talks to the server unchanged.</summary>
[Collection(SharedServerCollection.Name)]
public sealed class OpenAiClientTests(SharedServerFixture fixture)
{
    private ChatClient Client(string key = RuntimeServer.ApiKey) => new(
        RuntimeServer.ModelName,
        new ApiKeyCredential(key),
        new OpenAIClientOptions { Endpoint = new Uri(fixture.Server.BaseAddress, "/v1") });

    private static readonly ChatCompletionOptions Options = new() { MaxOutputTokenCount = 10, Temperature = 0f };

    [Fact]
    public async Task Plain_chat()
    {
        ChatCompletion completion = await Client().CompleteChatAsync([new SystemChatMessage("You are terse."), new UserChatMessage("Hello!")], Options);

        Assert.Equal(ChatMessageRole.Assistant, completion.Role);
        Assert.NotEmpty(completion.Content[0].Text);
        Assert.Equal(ChatFinishReason.Length, completion.FinishReason);
        Assert.Equal(10, completion.Usage.OutputTokenCount);
        Assert.True(completion.Usage.InputTokenCount > 0);
    }

    [Fact]
    public async Task Streaming_chat_gives_the_same_text_as_plain_chat()
    {
        ChatCompletion plain = await Client().CompleteChatAsync([new UserChatMessage("Stream to me")], Options);

        var text = "";
        ChatFinishReason? finish = null;
        await foreach (var update in Client().CompleteChatStreamingAsync([new UserChatMessage("Stream to me")], Options))
        {
            foreach (var part in update.ContentUpdate) text += part.Text;
            finish ??= update.FinishReason;
        }

        Assert.Equal(plain.Content[0].Text, text);
        Assert.Equal(ChatFinishReason.Length, finish);
    }

    [Fact]
    public async Task Wrong_key_surfaces_as_401()
    {
        var ex = await Assert.ThrowsAsync<ClientResultException>(() => Client("sk-wrong").CompleteChatAsync([new UserChatMessage("hi")], Options));
        Assert.Equal(401, ex.Status);
    }
}
