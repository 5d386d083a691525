using LlmInfra.Engine;
using LlmInfra.Runtime.Api.Tools;

namespace LlmInfra.Runtime.Api;

/// <summary>One finished choice: its text or its tool calls, and why it ended (OpenAI's finish_reason).</summary>
public sealed record ChoiceResult(int Index, string? Text, IReadOnlyList<ToolCall>? ToolCalls, string FinishReason);

/// <summary>Shapes generated output as either endpoint's objects, plain or streamed.</summary>
public abstract class ResponseFormat(string id, long created, string model)
{
    protected string Id { get; } = id;
    protected long Created { get; } = created;
    protected string Model { get; } = model;

    /// <summary>The field a too-long prompt is reported against.</summary>
    public abstract string PromptField { get; }

    public abstract object Complete(IReadOnlyList<ChoiceResult> choices, Usage usage);

    /// <summary>Sent before any token of a choice (chat announces the assistant role); null for none.</summary>
    public abstract object? Opening(int index);

    public abstract object Delta(int index, ReplyDelta delta);

    public abstract object Finish(int index, string finishReason);

    public abstract object UsageOnly(Usage usage);

    public static string FinishReasonOf(FinishReason reason) => reason == FinishReason.Stop ? "stop" : "length";
}

public sealed class ChatFormat(string id, long created, string model) : ResponseFormat(id, created, model)
{
    private const string ChunkObject = "chat.completion.chunk";

    public override string PromptField => "messages";

    public override object Complete(IReadOnlyList<ChoiceResult> choices, Usage usage) => new ChatCompletion(Id, "chat.completion", Created, Model,
        choices.Select(c => new ChatChoice(c.Index, new AssistantMessage("assistant", c.Text, c.ToolCalls), c.FinishReason, null)).ToArray(), usage, null);

    public override object? Opening(int index) => Chunk(index, new ChatDelta("assistant", ""), null);

    public override object Delta(int index, ReplyDelta delta) =>
        Chunk(index, delta.ToolCall is { } call ? new ChatDelta(null, null, [call]) : new ChatDelta(null, delta.Text), null);

    public override object Finish(int index, string finishReason) => Chunk(index, new ChatDelta(null, null), finishReason);

    public override object UsageOnly(Usage usage) => new ChatCompletionChunk(Id, ChunkObject, Created, Model, [], usage, null);

    private ChatCompletionChunk Chunk(int index, ChatDelta delta, string? finish) =>
        new(Id, ChunkObject, Created, Model, [new ChatChunkChoice(index, delta, finish, null)], null, null);
}

public sealed class TextFormat(string id, long created, string model) : ResponseFormat(id, created, model)
{
    private const string ObjectName = "text_completion";

    public override string PromptField => "prompt";

    public override object Complete(IReadOnlyList<ChoiceResult> choices, Usage usage) => new TextCompletion(Id, ObjectName, Created, Model,
        choices.Select(c => new TextChoice(c.Text ?? "", c.Index, null, c.FinishReason)).ToArray(), usage, null);

    public override object? Opening(int index) => null;

    public override object Delta(int index, ReplyDelta delta) => Chunk(index, delta.Text ?? "", null);

    public override object Finish(int index, string finishReason) => Chunk(index, "", finishReason);

    public override object UsageOnly(Usage usage) => new TextCompletion(Id, ObjectName, Created, Model, [], usage, null);

    private TextCompletion Chunk(int index, string text, string? finish) => new(Id, ObjectName, Created, Model, [new TextChoice(text, index, null, finish)], null, null);
}
