using System.Threading.Channels;
using LlmInfra.Engine;
using LlmInfra.Runtime.Api.Tools;

namespace LlmInfra.Runtime.Api;

/// <summary>One choice's reply as it streams: plain text, or text-or-tool-calls when tools may be called.</summary>
public sealed class ChoiceOutput(int index, ToolSet? tools)
{
    private readonly ToolCallStream? _calls = tools is { Callable.Count: > 0 }
        ? new ToolCallStream(toolsOnly: tools.Mode is ToolChoiceMode.Required or ToolChoiceMode.Named)
        : null;

    public int Index { get; } = index;

    public IReadOnlyList<ReplyDelta> Append(string piece) => _calls is null ? [new ReplyDelta(piece, null)] : _calls.Append(piece);

    /// <summary>"tool_calls" when the reply is a complete list of calls, else the backend's reason.</summary>
    public string FinishReason(GenerationResult result) =>
        _calls is { Complete: true } ? "tool_calls" : ResponseFormat.FinishReasonOf(result.FinishReason);

    /// <summary>
    /// The finished choice. Calls cut short (by max_tokens) are not calls: the reply is then returned as text with
    /// finish_reason "length", so a client sees what was generated and why it is incomplete.
    /// </summary>
    public ChoiceResult Result(GenerationResult result) => _calls is { Complete: true }
        ? new ChoiceResult(Index, null, _calls.Calls, "tool_calls")
        : new ChoiceResult(Index, result.Text, null, ResponseFormat.FinishReasonOf(result.FinishReason));
}

/// <summary>A piece, the end, or the failure of one choice's generation.</summary>
public readonly record struct ChoiceEvent(int Index, string? Piece, GenerationResult? Result, Exception? Error);

public static class ChoiceEvents
{
    /// <summary>The choices' pieces in the order they are generated, each choice's end after its last piece.</summary>
    public static ChannelReader<ChoiceEvent> Merge(IReadOnlyList<Generation> generations)
    {
        // One choice (nearly every request) reads its generation directly: a pump would add a thread-pool hop per token.
        if (generations.Count == 1) return new SingleChoice(generations[0]);
        var channel = Channel.CreateUnbounded<ChoiceEvent>(new UnboundedChannelOptions { SingleReader = true });
        var pumps = generations.Select((generation, index) => Pump(generation, index, channel.Writer)).ToArray();
        _ = Task.WhenAll(pumps).ContinueWith(_ => channel.Writer.TryComplete(), TaskScheduler.Default);
        return channel.Reader;
    }

    private static async Task Pump(Generation generation, int index, ChannelWriter<ChoiceEvent> writer)
    {
        try
        {
            var text = generation.Text;
            while (await text.WaitToReadAsync(CancellationToken.None).ConfigureAwait(false))
            {
                while (text.TryRead(out var piece))
                    writer.TryWrite(new ChoiceEvent(index, piece, null, null));
            }
            writer.TryWrite(new ChoiceEvent(index, null, await generation.Completion.ConfigureAwait(false), null));
        }
        catch (Exception ex)
        {
            writer.TryWrite(new ChoiceEvent(index, null, null, ex));
        }
    }

    /// <summary>One generation as choice 0's events, without a pump: its pieces, then its end.</summary>
    private sealed class SingleChoice(Generation generation) : ChannelReader<ChoiceEvent>
    {
        private bool _ended;

        public override bool TryRead(out ChoiceEvent item)
        {
            if (generation.Text.TryRead(out var piece))
            {
                item = new ChoiceEvent(0, piece, null, null);
                return true;
            }
            // The text completes just before the result is set: the end is read only once both are done.
            if (!_ended && generation.Text.Completion.IsCompleted && generation.Completion.IsCompleted)
            {
                _ended = true;
                item = generation.Completion.IsCompletedSuccessfully
                    ? new ChoiceEvent(0, null, generation.Completion.Result, null)
                    : new ChoiceEvent(0, null, null, generation.Completion.Exception?.InnerException ?? new OperationCanceledException());
                return true;
            }
            item = default;
            return false;
        }

        public override async ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default)
        {
            if (_ended) return false;
            try
            {
                if (await generation.Text.WaitToReadAsync(cancellationToken).ConfigureAwait(false)) return true;
            }
            catch (Exception) when (!cancellationToken.IsCancellationRequested)
            {
                // A failed generation: its end event carries the error.
            }
            await ((Task)generation.Completion).ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default).ConfigureAwait(false);
            return true;
        }
    }
}
