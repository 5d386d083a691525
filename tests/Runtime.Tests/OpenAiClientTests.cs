using System.ClientModel;
using LlmInfra.Runtime.Tests.Infrastructure;
using OpenAI.Chat;

namespace LlmInfra.Runtime.Tests;

/// <summary>The official OpenAI .NET client talks to the server unchanged.</summary>
public abstract class OpenAiClientTestsContract(RuntimeServer server)
{
    private ChatClient Client(string key = RuntimeServer.ApiKey) => server.ChatClient(key);

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

#pragma warning disable OPENAI001 // Seed is marked experimental in the client
    [Fact]
    public async Task Same_seed_same_text_alone_and_batched()
    {
        ChatCompletionOptions Seeded(long seed) => new() { MaxOutputTokenCount = 16, Temperature = 1.2f, Seed = seed };
        List<ChatMessage> messages = [new UserChatMessage("Surprise me")];

        ChatCompletion alone = await Client().CompleteChatAsync(messages, Seeded(42));
        // Sent together with other sampled requests: they may share the server's batches, the seeded one keeps its text.
        var together = await Task.WhenAll(Enumerable.Range(0, 4).Select(i =>
            Client().CompleteChatAsync(messages, i % 2 == 0 ? Seeded(42) : new ChatCompletionOptions { MaxOutputTokenCount = 16, Temperature = 1.2f })));
        ChatCompletion other = await Client().CompleteChatAsync(messages, Seeded(43));

        Assert.Equal(alone.Content[0].Text, together[0].Value.Content[0].Text);
        Assert.Equal(alone.Content[0].Text, together[2].Value.Content[0].Text);
        Assert.NotEqual(alone.Content[0].Text, other.Content[0].Text);
    }
#pragma warning restore OPENAI001

    [Fact]
    public async Task Stop_ends_the_reply_before_the_stop_text()
    {
        List<ChatMessage> messages = [new UserChatMessage("Count for me")];
        ChatCompletion full = await Client().CompleteChatAsync(messages, new ChatCompletionOptions { MaxOutputTokenCount = 24, Temperature = 0f });
        var text = full.Content[0].Text;
        var stop = text.Substring(text.Length / 2, 2);
        var expected = text[..text.IndexOf(stop, StringComparison.Ordinal)];

        var options = new ChatCompletionOptions { MaxOutputTokenCount = 24, Temperature = 0f, StopSequences = { stop } };
        ChatCompletion stopped = await Client().CompleteChatAsync(messages, options);
        Assert.Equal(ChatFinishReason.Stop, stopped.FinishReason);
        Assert.Equal(expected, stopped.Content.Count == 0 ? "" : stopped.Content[0].Text);

        var streamed = "";
        await foreach (var update in Client().CompleteChatStreamingAsync(messages, options))
            foreach (var part in update.ContentUpdate) streamed += part.Text;
        Assert.Equal(expected, streamed);
    }
}

/// <summary>On the plain model, served by the cohort scheduler.</summary>
[Collection(SharedServerCollection.Name)]
public sealed class OpenAiClientTests(SharedServerFixture fixture) : OpenAiClientTestsContract(fixture.Server);

/// <summary>The same on the paged variant of the model, served by GenAI's Engine (continuous batching).</summary>
[Collection(PagedServerCollection.Name)]
public sealed class EngineOpenAiClientTests(PagedServerFixture fixture) : OpenAiClientTestsContract(fixture.Server);
