using Microsoft.ML.OnnxRuntimeGenAI;
using static LlmInfra.Engine.Native.OgaEngineApi;

namespace LlmInfra.Engine.Native;

/// <summary>What an engine event carries (OgaEngineEventFlags).</summary>
[Flags]
public enum EngineEventFlags : uint
{
    None = 0,
    Token = 1,
    TurnFinished = 2,
    CapacityBlocked = 4,
    Failed = 8,
    Retryable = 16,
}

/// <summary>Why a turn stopped (OgaFinishReason).</summary>
public enum EngineFinishReason : uint
{
    None = 0,
    Eos = 1,
    StopString = 2,
    MaxGeneratedTokens = 3,
    MaxSessionTokens = 4,
    Cancelled = 5,
    Failed = 6,
}

/// <summary>The engine's classification of an event (OgaErrorCode).</summary>
public enum EngineErrorCode : uint
{
    None = 0,
    CapacityDeferred = 1,
    ExecutionCapacityExceeded = 2,
    RetryableExecution = 3,
    RequestUnserviceable = 4,
    EngineContractFailure = 5,
    EngineExecutionFailure = 6,
}

/// <summary>Token counts of a finished turn.</summary>
public readonly record struct TurnUsage(long PromptTokens, long GeneratedTokens, long CachedPromptTokens);

/// <summary>One event from <see cref="GenAIEngine.Run"/>, copied out of the native buffer.</summary>
public readonly record struct EngineEvent(
    IntPtr Request,
    ulong TurnId,
    EngineEventFlags Flags,
    int Token,
    EngineFinishReason FinishReason,
    int StopStringIndex,
    EngineErrorCode ErrorCode,
    TurnUsage? Usage)
{
    public bool HasToken => Flags.HasFlag(EngineEventFlags.Token);
    public bool IsFinished => Flags.HasFlag(EngineEventFlags.TurnFinished);
}

/// <summary>The engine's configured limits (OgaEngineCapabilities).</summary>
public sealed record EngineCapabilities(int MaxBatchSize, int MaxScheduledTokens, long MaxRequestLength)
{
    /// <summary>Dynamic batching (continuous batching over a paged KV cache) reports a token budget; static reports 0.</summary>
    public bool DynamicBatching => MaxScheduledTokens > 0;
}

/// <summary>
/// GenAI's Engine (continuous batching, paged KV cache, prefix reuse) over its C API. Not thread-safe: the thread that
/// creates it owns it, and every call on it, its requests and their turn options must come from that thread
/// (the native library enforces the same rule). Only disposing a <see cref="EngineRequest"/> may happen elsewhere.
/// </summary>
public sealed class GenAIEngine : IDisposable
{
    private readonly EngineHandle _engine;
    private readonly EventBufferHandle _buffer;
    private readonly int _owner = Environment.CurrentManagedThreadId;
    private readonly List<EngineEvent> _events = [];

    /// <summary>Creates an engine for a loaded model. The engine retains the native model; the caller keeps its own.</summary>
    public GenAIEngine(Model model, int eventCapacity = 64)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfLessThan(eventCapacity, 1);
        Check(OgaCreateEngine(ModelHandle(model), out var engine));
        _engine = OgaHandle.Wrap<EngineHandle>(engine);
        try
        {
            Check(OgaCreateEngineEventBuffer(_engine, (nuint)eventCapacity, out var buffer));
            _buffer = OgaHandle.Wrap<EventBufferHandle>(buffer);
            Check(OgaEngineGetCapabilities(_engine, out var caps));
            try
            {
                Capabilities = new EngineCapabilities(
                    (int)OgaEngineCapabilitiesGetConfiguredMaxBatchSize(caps),
                    (int)OgaEngineCapabilitiesGetMaxScheduledTokens(caps),
                    (long)OgaEngineCapabilitiesGetMaxRequestLength(caps));
            }
            finally
            {
                OgaDestroyEngineCapabilities(caps);
            }
        }
        catch
        {
            _buffer?.Dispose();
            _engine.Dispose();
            throw;
        }
    }

    public EngineCapabilities Capabilities { get; }

    /// <summary>True while undelivered events or schedulable work remain.</summary>
    public bool HasPendingRequests()
    {
        CheckOwner();
        Check(OgaEngineHasPendingRequests(_engine, out var pending));
        return pending;
    }

    /// <summary>
    /// Delivers retained events or runs one model step. The returned list is reused by the next call.
    /// </summary>
    public IReadOnlyList<EngineEvent> Run()
    {
        CheckOwner();
        _events.Clear();
        Check(OgaEngineRun(_engine, _buffer));
        var count = (int)OgaEngineEventBufferGetCount(_buffer);
        for (var i = 0; i < count; i++)
            _events.Add(Read(OgaEngineEventBufferGet(_buffer, (nuint)i)));
        return _events;
    }

    /// <summary>A new request (a session holding its KV blocks); nothing runs until <see cref="EngineRequest.BeginTurn"/>.</summary>
    public EngineRequest CreateRequest()
    {
        CheckOwner();
        Check(OgaEngineCreateRequest(_engine, IntPtr.Zero, out var request));
        return new EngineRequest(OgaHandle.Wrap<RequestHandle>(request), this);
    }

    internal void CheckOwner()
    {
        if (Environment.CurrentManagedThreadId != _owner)
            throw new InvalidOperationException("GenAI engine calls must come from the thread that created the engine.");
    }

    private static EngineEvent Read(IntPtr e)
    {
        Check(OgaEngineEventGetFlags(e, out var flags));
        Check(OgaEngineEventGetRequest(e, out var request));
        Check(OgaEngineEventGetTurnId(e, out var turn));
        var f = (EngineEventFlags)flags;
        var token = -1;
        if (f.HasFlag(EngineEventFlags.Token)) Check(OgaEngineEventGetToken(e, out token));
        Check(OgaEngineEventGetFinishReason(e, out var reason));
        Check(OgaEngineEventGetMatchedStopStringIndex(e, out var stop));
        Check(OgaEngineEventGetErrorCode(e, out var code));
        Check(OgaEngineEventGetUsage(e, out var usage));
        TurnUsage? u = null;
        if (usage != IntPtr.Zero)
        {
            Check(OgaTurnUsageGetPromptTokens(usage, out var prompt));
            Check(OgaTurnUsageGetGeneratedTokens(usage, out var generated));
            Check(OgaTurnUsageGetCachedPromptTokens(usage, out var cached));
            u = new TurnUsage((long)prompt, (long)generated, (long)cached);
        }
        return new EngineEvent(request, turn, f, token, (EngineFinishReason)reason, stop, (EngineErrorCode)code, u);
    }

    /// <summary>Destroys the engine (closing its requests). Call on the owner thread, after the requests' last turn.</summary>
    public void Dispose()
    {
        _buffer.Dispose();
        _engine.Dispose();
    }
}

/// <summary>A session on an engine. Owner-thread only, except <see cref="Dispose"/>.</summary>
public sealed class EngineRequest : IDisposable
{
    private readonly RequestHandle _handle;
    private readonly GenAIEngine _engine;

    internal EngineRequest(RequestHandle handle, GenAIEngine engine)
    {
        _handle = handle;
        _engine = engine;
        Id = handle.DangerousGetHandle();
    }

    /// <summary>The native request, as events name it (<see cref="EngineEvent.Request"/>).</summary>
    public IntPtr Id { get; }

    /// <summary>Options for this request's next turn; unset options mean the model's defaults.</summary>
    public TurnOptions CreateTurnOptions()
    {
        _engine.CheckOwner();
        Check(OgaRequestCreateTurnOptions(_handle, out var options));
        return new TurnOptions(OgaHandle.Wrap<TurnOptionsHandle>(options));
    }

    /// <summary>
    /// Queues a turn with these input tokens. Throws <see cref="GenAIEngineException"/> when the engine refuses it
    /// (invalid grammar, prompt too long, options the engine does not support); the request is then unchanged.
    /// </summary>
    public unsafe ulong BeginTurn(TurnOptions options, ReadOnlySpan<int> tokens)
    {
        _engine.CheckOwner();
        ulong turn;
        fixed (int* p = tokens)
            Check(OgaRequestBeginTurn(_handle, options.Handle, p, (ulong)tokens.Length, out turn));
        return turn;
    }

    /// <summary>Cancels a queued or running turn (one Cancelled event follows); false when it had already finished.</summary>
    public bool CancelTurn(ulong turnId)
    {
        _engine.CheckOwner();
        Check(OgaRequestCancelTurn(_handle, turnId, out var cancelled));
        return cancelled;
    }

    /// <summary>Removes the request from scheduling and releases its KV blocks (prefix blocks may stay cached).</summary>
    public void Close()
    {
        _engine.CheckOwner();
        Check(OgaRequestClose(_handle));
    }

    public void Dispose() => _handle.Dispose();
}

/// <summary>Per-turn generation settings. Owner-thread only.</summary>
public sealed class TurnOptions : IDisposable
{
    internal TurnOptions(TurnOptionsHandle handle) => Handle = handle;

    internal TurnOptionsHandle Handle { get; }

    public TurnOptions MaxGeneratedTokens(int max) => Set(OgaTurnOptionsSetMaxGeneratedTokens(Handle, (ulong)max));

    public TurnOptions DoSample(bool sample) => Set(OgaTurnOptionsSetDoSample(Handle, sample));

    public TurnOptions Temperature(double temperature) => Set(OgaTurnOptionsSetTemperature(Handle, (float)temperature));

    public TurnOptions TopP(double topP) => Set(OgaTurnOptionsSetTopP(Handle, (float)topP));

    public TurnOptions TopK(int topK) => Set(OgaTurnOptionsSetTopK(Handle, topK));

    /// <summary>Reseeds the request's random stream (dynamic batching only).</summary>
    public TurnOptions Seed(ulong seed) => Set(OgaTurnOptionsSetSeed(Handle, seed));

    /// <summary>Ends the turn when generated text contains one of these (at most 16, none empty; dynamic batching only).</summary>
    public TurnOptions StopStrings(IReadOnlyList<string> stops)
    {
        Check(OgaCreateStringArray(out var array));
        try
        {
            foreach (var s in stops) Check(OgaStringArrayAddString(array, s));
            return Set(OgaTurnOptionsSetStopStrings(Handle, array));
        }
        finally
        {
            OgaDestroyStringArray(array);
        }
    }

    /// <summary>Constrains the output: <paramref name="type"/> is "json_schema", "regex" or "lark_grammar".</summary>
    public TurnOptions Guidance(string type, string data) => Set(OgaTurnOptionsSetGuidance(Handle, type, data));

    private TurnOptions Set(IntPtr result)
    {
        Check(result);
        return this;
    }

    public void Dispose() => Handle.Dispose();
}
