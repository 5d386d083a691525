using System.Diagnostics;
using System.Threading.Channels;
using LlmInfra.Engine.Native;
using Microsoft.ML.OnnxRuntimeGenAI;

namespace LlmInfra.Engine;

/// <summary>KV-cache figures of a backend that has a paged cache (the GenAI engine), for the llm_kv_cache_* and
/// llm_prefix_cache_* metrics.</summary>
public interface IKvCacheInfo
{
    /// <summary>Blocks reserved by the requests on the engine now (prompt plus max_tokens, rounded up to blocks).</summary>
    int KvBlocksUsed { get; }

    /// <summary>Blocks in the pool (engine.dynamic_batching.num_blocks).</summary>
    int KvBlocksTotal { get; }

    /// <summary>Prompt tokens served from cached prefix blocks since start (the engine's cached_prompt_tokens, summed).</summary>
    long PrefixCacheHitTokens { get; }
}

/// <summary>
/// The generation backend for paged models: GenAI's own Engine with dynamic batching (continuous batching over a paged
/// KV cache, prefix-block reuse, per-turn stop strings, seeds and guidance). One owner thread makes every engine call
/// (the API requires it); callers reach it through a command channel, and events go back to each request's channel.
/// The engine does not preempt, so a request is begun only when the blocks its prompt plus max_tokens can occupy are
/// free: an over-admitted request would stall forever. Requests beyond the engine's batch or the free blocks wait here,
/// in a bounded queue.
/// </summary>
public sealed class EngineBackend : IGenerationBackend, IKvCacheInfo
{
    private readonly LlmModel _model;
    private readonly SchedulerOptions _options;
    private readonly PagedEngineConfig _config;
    private readonly Channel<Command> _commands = Channel.CreateUnbounded<Command>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Thread _owner;
    private readonly TaskCompletionSource _idle = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly object _lock = new(); // guards the counters and _closed; the owner thread holds everything else
    private readonly int _sessionLimit;
    private readonly int _promptLimit;
    private readonly int _runningCap;
    private int _inSystem;   // submitted and not finished
    private int _running;    // begun on the engine and producing tokens
    private int _blocksUsed; // reserved by requests begun on the engine
    private long _prefixHits;
    private bool _closed;
    private bool _disposed;

    /// <summary>
    /// Starts the owner thread and creates the engine on it. Throws <see cref="ModelLoadException"/> when the model is not
    /// configured for dynamic batching or the engine refuses it.
    /// </summary>
    public EngineBackend(LlmModel model, SchedulerOptions options, int? maxPromptTokens = null)
    {
        options.Validate();
        _model = model;
        _options = options;
        _config = PagedEngineConfig.Read(model.Options.ModelPath)
            ?? throw new ModelLoadException($"Model folder '{model.Options.ModelPath}' has no engine.dynamic_batching section in genai_config.json; serve it with the GenerationScheduler.");
        // A request's prompt plus output must fit the context and the whole pool (the engine's max request length is
        // num_blocks x block_size + 1; the last generated token needs no slot, but staying inside the pool is simpler).
        _sessionLimit = Math.Min(model.ContextLength, _config.TotalTokens);
        _promptLimit = Math.Min(maxPromptTokens ?? int.MaxValue, _sessionLimit - 1);
        _runningCap = Math.Min(options.MaxConcurrent, _config.MaxBatchSize);

        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _owner = new Thread(() => OwnerLoop(started)) { IsBackground = true, Name = "llm-engine" };
        _owner.Start();
        try
        {
            started.Task.GetAwaiter().GetResult();
        }
        catch (GenAIEngineException ex)
        {
            _owner.Join();
            throw new ModelLoadException($"GenAI's Engine refused the model in '{model.Options.ModelPath}': {ex.Message}", ex);
        }
    }

    public int Waiting { get { lock (_lock) return _inSystem - _running; } }

    public int Running { get { lock (_lock) return _running; } }

    public int QueueCapacity => _runningCap + _options.MaxQueue;

    public int PromptLimit => _promptLimit;

    public LlmModel Model => _model;

    public int KvBlocksUsed { get { lock (_lock) return _blocksUsed; } }

    public int KvBlocksTotal => _config.NumBlocks;

    public long PrefixCacheHitTokens => Interlocked.Read(ref _prefixHits);

    /// <summary>The engine section this backend serves with.</summary>
    public PagedEngineConfig Config => _config;

    public event Action<GenerationResult>? Completed;

    public Generation Submit(string prompt, SamplingOptions sampling, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentOutOfRangeException.ThrowIfLessThan(sampling.MaxTokens, 1, nameof(sampling.MaxTokens));
        var tokens = PendingGeneration.EncodePrompt(_model, prompt, _promptLimit);

        var maxNew = Math.Min(sampling.MaxTokens, _sessionLimit - tokens.Length);
        var pending = new Pending(tokens, sampling, maxNew, _config.BlocksFor(tokens.Length + maxNew));
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_closed) throw new SchedulerClosedException();
            if (_inSystem >= QueueCapacity) throw new QueueFullException(QueueCapacity);
            _inSystem++;
        }
        _commands.Writer.TryWrite(new Command(CommandKind.Submit, pending));
        pending.Watch(cancellationToken, _options.RequestTimeout, p => _commands.Writer.TryWrite(new Command(CommandKind.Cancel, (Pending)p)));
        return new Generation(pending.Channel.Reader, pending.Result.Task, tokens.Length);
    }

    public async Task<bool> DrainAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            _closed = true;
            CheckIdle();
        }
        try
        {
            await _idle.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            // Cancelled turns end within a step or two; wait for that, briefly, so the caller sees them finished.
            _commands.Writer.TryWrite(new Command(CommandKind.CancelAll, null));
            await Task.WhenAny(_idle.Task, Task.Delay(TimeSpan.FromSeconds(10), CancellationToken.None)).ConfigureAwait(false);
            return false;
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed) return;
            _disposed = _closed = true;
        }
        _commands.Writer.TryWrite(new Command(CommandKind.CancelAll, null));
        _commands.Writer.TryComplete();
        if (Thread.CurrentThread != _owner) _owner.Join();
    }

    private void CheckIdle()
    {
        if (_closed && _inSystem == 0) _idle.TrySetResult();
    }

    // ---- Everything below runs on the owner thread. ----

    private void OwnerLoop(TaskCompletionSource started)
    {
        GenAIEngine engine;
        try
        {
            engine = new GenAIEngine(_model.Model);
            if (!engine.Capabilities.DynamicBatching)
            {
                engine.Dispose();
                throw new GenAIEngineException("the engine did not start in dynamic-batching mode (max_scheduled_tokens is 0).");
            }
        }
        catch (Exception ex)
        {
            started.TrySetException(ex);
            return;
        }
        started.TrySetResult();

        var queue = new LinkedList<Pending>();
        var active = new Dictionary<IntPtr, Pending>();
        var loop = new OwnerState(engine, queue, active);
        try
        {
            while (true)
            {
                while (_commands.Reader.TryRead(out var command)) Handle(loop, command);
                Admit(loop);
                if (active.Count > 0)
                {
                    if (!engine.HasPendingRequests())
                        throw new GenAIEngineException($"The engine reports no pending work while {active.Count} requests are unfinished.");
                    foreach (var e in engine.Run()) Route(loop, e);
                    continue;
                }
                // Nothing to run: sleep until a command arrives (or the channel completes on Dispose).
                if (!_commands.Reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult()) break;
            }
        }
        catch (Exception ex)
        {
            // The engine failed as a whole: fail everything, refuse what comes next.
            lock (_lock) _closed = true;
            foreach (var p in active.Values.Concat(queue).ToList()) Fail(loop, p, ex);
        }
        finally
        {
            foreach (var p in active.Values.Concat(queue).ToList()) Finish(loop, p, FinishReason.Cancelled, null);
            while (_commands.Reader.TryRead(out var command))
                if (command.Pending is { } p) Finish(loop, p, FinishReason.Cancelled, null);
            engine.Dispose();
        }
    }

    private sealed record OwnerState(GenAIEngine Engine, LinkedList<Pending> Queue, Dictionary<IntPtr, Pending> Active);

    private enum CommandKind { Submit, Cancel, CancelAll }

    private sealed record Command(CommandKind Kind, Pending? Pending);

    private void Handle(OwnerState s, Command command)
    {
        switch (command.Kind)
        {
            case CommandKind.Submit:
                var p = command.Pending!;
                if (p.IsCancelled) Finish(s, p, p.CancelReason, null);
                else p.Node = s.Queue.AddLast(p);
                break;
            case CommandKind.Cancel:
                Cancel(s, command.Pending!, command.Pending!.CancelReason);
                break;
            case CommandKind.CancelAll:
                foreach (var q in s.Queue.Concat(s.Active.Values).ToList()) Cancel(s, q, FinishReason.Cancelled);
                break;
        }
    }

    private void Cancel(OwnerState s, Pending p, FinishReason reason)
    {
        if (p.Done) return;
        p.CancelledAs = reason;
        if (p.Node is not null)
        {
            Finish(s, p, reason, null);
        }
        else if (p.Request is not null && !p.Request.CancelTurn(p.TurnId))
        {
            Finish(s, p, reason, null); // already finished on the engine; its events were not routed yet
        }
        // else: the engine sends one Cancelled event, which finishes it.
    }

    /// <summary>Begins queued requests, oldest first, while the batch has room and their blocks are free.</summary>
    private void Admit(OwnerState s)
    {
        while (s.Queue.First?.Value is { } p)
        {
            lock (_lock)
            {
                if (s.Active.Count >= _runningCap || _blocksUsed + p.Blocks > _config.NumBlocks) return;
                _blocksUsed += p.Blocks;
            }
            p.HoldsBlocks = true;
            s.Queue.RemoveFirst();
            p.Node = null;
            p.StartedAt = Stopwatch.GetTimestamp();
            try
            {
                p.Request = s.Engine.CreateRequest();
                using var options = TurnOptionsFor(p);
                p.TurnId = p.Request.BeginTurn(options, p.Tokens);
                p.Stream = _model.Tokenizer.CreateStream();
                s.Active[p.Request.Id] = p;
            }
            catch (GenAIEngineException ex)
            {
                // Refused for this request alone (invalid grammar, an option the engine rejects): a client error. A
                // refused grammar is the same GuidanceRejectedException the scheduler raises, so the API answers both
                // backends with one 400 naming the request field.
                Fail(s, p, p.Sampling.Guidance is not null
                    ? new GuidanceRejectedException(ex.Message, ex)
                    : new EngineRequestRejectedException(ex.Message, ex));
            }
        }
    }

    private TurnOptions TurnOptionsFor(Pending p)
    {
        var sampling = p.Sampling;
        var options = p.Request!.CreateTurnOptions().MaxGeneratedTokens(p.MaxNew);
        if (sampling.IsGreedy)
        {
            options.DoSample(false);
        }
        else
        {
            options.DoSample(true).Temperature(sampling.Temperature).TopP(sampling.TopP);
            if (sampling.TopK > 0) options.TopK(sampling.TopK);
            if (sampling.Seed is long seed) options.Seed(unchecked((ulong)seed));
        }
        var stops = sampling.Stop.Where(x => x.Length > 0).ToList();
        if (stops.Count > 0) options.StopStrings(stops);
        if (sampling.Guidance is { } guidance) options.Guidance(guidance.NativeType, guidance.Data);
        return options;
    }

    private void Route(OwnerState s, EngineEvent e)
    {
        if (!s.Active.TryGetValue(e.Request, out var p) || p.Done || e.TurnId != p.TurnId) return;
        if (e.HasToken && !_model.EosTokenIds.Contains(e.Token))
        {
            if (p.FirstTokenAt == 0)
            {
                p.FirstTokenAt = Stopwatch.GetTimestamp();
                lock (_lock) _running++;
                p.CountedRunning = true;
            }
            p.CompletionTokens++;
            var text = p.Matcher.Append(p.Stream!.Decode(e.Token), out var stopped);
            p.Emit(text);
            if (stopped)
            {
                // The stop text is cut here; the engine ends the turn on the same string (cancel in case it did not).
                p.StopSeen = true;
                if (!e.IsFinished) p.Request!.CancelTurn(p.TurnId);
                Finish(s, p, FinishReason.Stop, e.Usage);
                return;
            }
        }
        if (!e.IsFinished) return;
        switch (e.FinishReason)
        {
            case EngineFinishReason.Eos:
                Finish(s, p, FinishReason.Stop, e.Usage);
                break;
            case EngineFinishReason.StopString:
                p.StopSeen = true; // never flush text held back as a possible stop string
                Finish(s, p, FinishReason.Stop, e.Usage);
                break;
            case EngineFinishReason.MaxGeneratedTokens:
            case EngineFinishReason.MaxSessionTokens:
                Finish(s, p, FinishReason.Length, e.Usage);
                break;
            case EngineFinishReason.Cancelled:
                Finish(s, p, p.CancelledAs ?? FinishReason.Cancelled, e.Usage);
                break;
            default:
                Fail(s, p, new GenAIEngineException($"The engine failed the request ({e.ErrorCode})."));
                break;
        }
    }

    private void Release(OwnerState s, Pending p)
    {
        if (p.Node is not null)
        {
            s.Queue.Remove(p.Node);
            p.Node = null;
        }
        if (p.Request is not null)
        {
            s.Active.Remove(p.Request.Id);
            try
            {
                p.Request.Close();
            }
            catch (GenAIEngineException)
            {
                // closing is best effort; disposing the handle below still reclaims the request
            }
            p.Request.Dispose();
        }
        if (p.HoldsBlocks)
        {
            lock (_lock) _blocksUsed -= p.Blocks;
            p.HoldsBlocks = false;
        }
        p.Stream?.Dispose();
        lock (_lock)
        {
            _inSystem--;
            if (p.CountedRunning) _running--;
            CheckIdle();
        }
        p.Dispose();
    }

    private void Finish(OwnerState s, Pending p, FinishReason reason, TurnUsage? usage)
    {
        if (p.Done) return;
        p.Done = true;
        if (reason is FinishReason.Stop or FinishReason.Length && !p.StopSeen) p.Emit(p.Matcher.Flush());
        var result = p.ToResult(reason, (int)(usage?.CachedPromptTokens ?? 0));
        Interlocked.Add(ref _prefixHits, result.CachedPromptTokens);
        Release(s, p);
        p.Channel.Writer.TryComplete();
        p.Result.TrySetResult(result);
        Completed?.Invoke(result);
    }

    private void Fail(OwnerState s, Pending p, Exception ex)
    {
        if (p.Done) return;
        p.Done = true;
        Release(s, p);
        p.Channel.Writer.TryComplete(ex);
        p.Result.TrySetException(ex);
    }

    private sealed class Pending(int[] tokens, SamplingOptions sampling, int maxNew, int blocks)
        : PendingGeneration(tokens, sampling, maxNew)
    {
        public int Blocks { get; } = blocks;

        // Owner thread only:
        public LinkedListNode<Pending>? Node { get; set; }
        public EngineRequest? Request { get; set; }
        public ulong TurnId { get; set; }
        public TokenizerStream? Stream { get; set; }
        public bool CountedRunning { get; set; }
        public bool HoldsBlocks { get; set; }
        public bool StopSeen { get; set; }
        public FinishReason? CancelledAs { get; set; }
        public bool Done { get; set; }
    }
}

/// <summary>
/// The engine refused one request's settings (an invalid JSON schema, regex or grammar; a stop string it rejects).
/// An <see cref="ArgumentException"/>: the client's input is at fault; the message is GenAI's own.
/// </summary>
public sealed class EngineRequestRejectedException(string message, Exception inner) : ArgumentException(message, inner);
