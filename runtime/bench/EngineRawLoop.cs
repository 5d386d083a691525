using System.Collections.Concurrent;
using System.Diagnostics;
using LlmInfra.Engine;
using LlmInfra.Engine.Native;

namespace LlmInfra.Bench;

/// <summary>
/// The in-process baseline for paged models: GenAI's Engine driven directly (no HTTP, no channel, no admission control),
/// all prompts begun at once, greedy, fixed length. What the server's engine backend is compared to.
/// Like the server's backend it keeps one engine for its lifetime on one owner thread (the API requires it), so its KV
/// pool is as warm as the server's: an engine created per run paid for first touching a fresh pool inside the timed
/// steps, which made the baseline slower than the server it is meant to bound.
/// </summary>
public sealed class EngineRawLoop : IDisposable
{
    private readonly LlmModel _model;
    private readonly BlockingCollection<Action<GenAIEngine>> _work = [];
    private readonly Thread _owner;

    public EngineRawLoop(LlmModel model)
    {
        _model = model;
        var ready = new TaskCompletionSource();
        _owner = new Thread(() =>
        {
            using var engine = new GenAIEngine(model.Model);
            ready.SetResult();
            foreach (var work in _work.GetConsumingEnumerable()) work(engine);
        }) { IsBackground = true, Name = "bench-raw-engine" };
        _owner.Start();
        ready.Task.GetAwaiter().GetResult();
    }

    /// <summary>Runs the prompts as one batch on the owner thread and returns one sample per prompt.</summary>
    public List<RequestSample> Run(string[] prompts, int maxTokens) => OnOwner(engine => RunOnOwner(engine, prompts, maxTokens));

    /// <summary>
    /// The prompts arriving <paramref name="interval"/> apart, each begun on the engine as soon as it arrives (between
    /// steps, as the server does), time to first token counted from its arrival: the staggered scenario without HTTP.
    /// </summary>
    public Measurement RunStaggered(string[] prompts, TimeSpan interval, int maxTokens) =>
        OnOwner(engine => StaggeredOnOwner(engine, prompts, interval, maxTokens));

    /// <summary>Runs <paramref name="work"/> on the owner thread and waits for its result.</summary>
    private T OnOwner<T>(Func<GenAIEngine, T> work)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        _work.Add(engine =>
        {
            try
            {
                done.SetResult(work(engine));
            }
            catch (Exception ex)
            {
                done.SetException(ex);
            }
        });
        return done.Task.GetAwaiter().GetResult();
    }

    /// <summary>Begins a greedy, fixed-length turn, as every request of the bench is.</summary>
    private static EngineRequest Begin(GenAIEngine engine, int[] tokens, int maxTokens)
    {
        var request = engine.CreateRequest();
        using var options = request.CreateTurnOptions().MaxGeneratedTokens(maxTokens).DoSample(false);
        request.BeginTurn(options, tokens);
        return request;
    }

    private static void Close(IEnumerable<EngineRequest> requests)
    {
        foreach (var r in requests)
        {
            r.Close();
            r.Dispose();
        }
    }

    private Measurement StaggeredOnOwner(GenAIEngine engine, string[] prompts, TimeSpan interval, int maxTokens)
    {
        var tokens = prompts.Select(_model.Encode).ToArray(); // tokenized up front: only arrival and engine timing count
        var start = Stopwatch.GetTimestamp();
        var arrivalTicks = (long)(interval.TotalSeconds * Stopwatch.Frequency);
        var requests = new List<(EngineRequest Request, long ArrivedAt, List<long> Tokens)>();
        var byId = new Dictionary<IntPtr, List<long>>();
        while (requests.Count < prompts.Length || engine.HasPendingRequests())
        {
            var now = Stopwatch.GetTimestamp();
            while (requests.Count < prompts.Length && now - start >= requests.Count * arrivalTicks)
            {
                var request = Begin(engine, tokens[requests.Count], maxTokens);
                var arrivals = new List<long>();
                requests.Add((request, start + requests.Count * arrivalTicks, arrivals));
                byId[request.Id] = arrivals;
            }
            if (!engine.HasPendingRequests())
            {
                Thread.Sleep(TimeSpan.FromTicks(Math.Max(0, start + requests.Count * arrivalTicks - Stopwatch.GetTimestamp()) * TimeSpan.TicksPerSecond / Stopwatch.Frequency));
                continue;
            }
            foreach (var e in engine.Run())
                if (e.HasToken) byId[e.Request].Add(Stopwatch.GetTimestamp());
        }
        var wall = Stopwatch.GetElapsedTime(start);
        Close(requests.Select(r => r.Request));
        return new Measurement(requests.Select(r => RequestSample.From(r.ArrivedAt, r.Tokens, r.Tokens.Count)).ToList(), wall);
    }

    private List<RequestSample> RunOnOwner(GenAIEngine engine, string[] prompts, int maxTokens)
    {
        // Tokenizing is inside the timed span, as the server's time to first token includes it.
        var start = Stopwatch.GetTimestamp();
        var requests = new List<EngineRequest>();
        var arrivals = new Dictionary<IntPtr, List<long>>();
        foreach (var prompt in prompts)
        {
            var request = Begin(engine, _model.Encode(prompt), maxTokens);
            requests.Add(request);
            arrivals[request.Id] = [];
        }
        var streams = requests.ToDictionary(r => r.Id, _ => _model.Tokenizer.CreateStream());
        while (engine.HasPendingRequests())
        {
            foreach (var e in engine.Run())
            {
                if (!e.HasToken) continue;
                streams[e.Request].Decode(e.Token); // decode like the server does
                arrivals[e.Request].Add(Stopwatch.GetTimestamp());
            }
        }
        foreach (var s in streams.Values) s.Dispose();
        Close(requests);
        return requests.Select(r => RequestSample.From(start, arrivals[r.Id], arrivals[r.Id].Count)).ToList();
    }

    public void Dispose()
    {
        _work.CompleteAdding();
        _owner.Join();
        _work.Dispose();
    }
}
