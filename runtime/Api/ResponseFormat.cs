using LlmInfra.Engine;

namespace LlmInfra.Runtime.Api;

/// <summary>Shapes generated text as either endpoint's objects, plain or streamed.</summary>
public abstract class ResponseFormat(string id, long created, string model)
{
    protected string Id { get; } = id;
    protected long Created { get; } = created;
    protected string Model { get; } = model;

    /// <summary>The field a too-long prompt is reported against.</summary>
    public abstract string PromptField { get; }

    public abstract object Complete(GenerationResult result);

    /// <summary>Sent before any token (chat announces the assistant role); null for none.</summary>
    public abstract object? Opening();

    public abstract object Delta(string text);

    public abstract object Finish(string finishReason);

    public abstract object UsageOnly(Usage usage);

    public static string FinishReasonOf(FinishReason reason) => reason == FinishReason.Stop ? "stop" : "length";

    protected static Usage UsageOf(GenerationResult r) => Usage.Of(r.PromptTokens, r.CompletionTokens);
}

public sealed class ChatFormat(string id, long created, string model) : ResponseFormat(id, created, model)
{
    private const string ChunkObject = "chat.completion.chunk";

    public override string PromptField => "messages";

    public override object Complete(GenerationResult result) => new ChatCompletion(Id, "chat.completion", Created, Model,
        [new ChatChoice(0, new AssistantMessage("assistant", result.Text), FinishReasonOf(result.FinishReason), null)], UsageOf(result), null);

    public override object? Opening() => Chunk(new ChatDelta("assistant", ""), null);

    public override object Delta(string text) => Chunk(new ChatDelta(null, text), null);

    public override object Finish(string finishReason) => Chunk(new ChatDelta(null, null), finishReason);

    public override object UsageOnly(Usage usage) => new ChatCompletionChunk(Id, ChunkObject, Created, Model, [], usage, null);

    private ChatCompletionChunk Chunk(ChatDelta delta, string? finish) =>
        new(Id, ChunkObject, Created, Model, [new ChatChunkChoice(0, delta, finish, null)], null, null);
}

public sealed class TextFormat(string id, long created, string model) : ResponseFormat(id, created, model)
{
    private const string ObjectName = "text_completion";

    public override string PromptField => "prompt";

    public override object Complete(GenerationResult result) => new TextCompletion(Id, ObjectName, Created, Model,
        [new TextChoice(result.Text, 0, null, FinishReasonOf(result.FinishReason))], UsageOf(result), null);

    public override object? Opening() => null;

    public override object Delta(string text) => Chunk(text, null);

    public override object Finish(string finishReason) => Chunk("", finishReason);

    public override object UsageOnly(Usage usage) => new TextCompletion(Id, ObjectName, Created, Model, [], usage, null);

    private TextCompletion Chunk(string text, string? finish) => new(Id, ObjectName, Created, Model, [new TextChoice(text, 0, null, finish)], null, null);
}
