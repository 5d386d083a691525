using LlmInfra.Engine;
using LlmInfra.Engine.Native;
using Microsoft.ML.OnnxRuntimeGenAI;
using LlmInfra.Runtime.Tests.Infrastructure;

namespace LlmInfra.Runtime.Tests;

/// <summary>
/// The typed binding of GenAI's Engine API, driven directly on the test thread (the engine's owner), and the paged
/// demo model it serves.
/// </summary>
public sealed class NativeEngineTests
{
    private static readonly string[] Prompts = ["alpha", "a much longer second prompt with more words", "third", "the fourth one", "fifth: 12345"];

    /// <summary>Runs every turn to its end; returns each request's tokens and its final event.</summary>
    private static List<(List<int> Tokens, EngineEvent Final)> RunAll(GenAIEngine engine, IReadOnlyList<EngineRequest> requests)
    {
        var byId = requests.Select((r, i) => (r.Id, i)).ToDictionary(x => x.Id, x => x.i);
        var results = requests.Select(_ => (Tokens: new List<int>(), Final: default(EngineEvent))).ToList();
        var steps = 0;
        while (engine.HasPendingRequests())
        {
            Assert.True(++steps < 100_000, "the engine did not finish");
            foreach (var e in engine.Run())
            {
                var i = byId[e.Request];
                if (e.HasToken) results[i].Tokens.Add(e.Token);
                if (e.IsFinished) results[i] = (results[i].Tokens, e);
            }
        }
        return results;
    }

    private static ulong Begin(EngineRequest request, int[] tokens, int maxTokens, Action<TurnOptions>? configure = null)
    {
        using var options = request.CreateTurnOptions().MaxGeneratedTokens(maxTokens).DoSample(false);
        configure?.Invoke(options);
        return request.BeginTurn(options, tokens);
    }

    [Fact]
    public void Paged_model_matches_the_plain_model_token_for_token()
    {
        const int maxTokens = 24;
        var expected = new List<int[]>();
        using (var plain = LlmModel.Load(new EngineOptions { ModelPath = Models.Tiny }))
        {
            // The managed Generator, one prompt at a time: the reference tokens.
            foreach (var p in Prompts)
            {
                using var search = new GeneratorParams(plain.Model);
                search.SetSearchOption("max_length", 256);
                using var generator = new Generator(plain.Model, search);
                generator.AppendTokens(plain.Encode(p));
                var tokens = new List<int>();
                while (tokens.Count < maxTokens)
                {
                    generator.GenerateNextToken();
                    tokens.Add(generator.GetNextTokens()[0]);
                }
                expected.Add([.. tokens]);
            }
        }
        PagedRuns(expected, maxTokens);
    }

    private static void PagedRuns(List<int[]> expected, int maxTokens)
    {

        using var paged = LlmModel.Load(new EngineOptions { ModelPath = Models.TinyPaged });
        using var engine = new GenAIEngine(paged.Model);
        Assert.True(engine.Capabilities.DynamicBatching);
        // The pool (64 x 16 + 1) capped by search.max_length (256): one request's ceiling, not the pool's size,
        // which is why the runtime needs num_blocks to bound admission.
        Assert.Equal(256, engine.Capabilities.MaxRequestLength);
        Assert.Equal(16, engine.Capabilities.MaxBatchSize);

        // Together (one batch, mixed prefill lengths) and then staggered (a prefill joining running decodes).
        var together = Prompts.Select(_ => engine.CreateRequest()).ToList();
        foreach (var (r, p) in together.Zip(Prompts)) Begin(r, paged.Encode(p), maxTokens);
        var results = RunAll(engine, together);
        for (var i = 0; i < Prompts.Length; i++)
        {
            Assert.Equal(expected[i], results[i].Tokens);
            Assert.Equal(EngineFinishReason.MaxGeneratedTokens, results[i].Final.FinishReason);
            Assert.Equal(paged.Encode(Prompts[i]).Length, results[i].Final.Usage!.Value.PromptTokens);
            Assert.Equal(maxTokens, results[i].Final.Usage!.Value.GeneratedTokens);
        }
        foreach (var r in together) { r.Close(); r.Dispose(); }

        var staggered = Prompts.Select(_ => engine.CreateRequest()).ToList();
        var tokens = staggered.Select(_ => new List<int>()).ToList();
        var byId = staggered.Select((r, i) => (r.Id, i)).ToDictionary(x => x.Id, x => x.i);
        var started = 0;
        for (var step = 0; step < 10_000 && (started < staggered.Count || engine.HasPendingRequests()); step++)
        {
            if (started < staggered.Count && step % 3 == 0)
            {
                Begin(staggered[started], paged.Encode(Prompts[started]), maxTokens);
                started++;
            }
            foreach (var e in engine.Run())
                if (e.HasToken) tokens[byId[e.Request]].Add(e.Token);
        }
        for (var i = 0; i < Prompts.Length; i++)
            Assert.Equal(expected[i], tokens[i]);
        foreach (var r in staggered) { r.Close(); r.Dispose(); }
    }

    [Fact]
    public void A_shared_prefix_is_reused_from_the_cache()
    {
        using var paged = LlmModel.Load(new EngineOptions { ModelPath = Models.TinyPaged });
        using var engine = new GenAIEngine(paged.Model);
        var prefix = string.Concat(Enumerable.Repeat("shared system prompt text ", 6));
        using var first = engine.CreateRequest();
        Begin(first, paged.Encode(prefix + "one"), 4);
        var cold = RunAll(engine, [first])[0];
        first.Close();
        using var second = engine.CreateRequest();
        Begin(second, paged.Encode(prefix + "two"), 4);
        var warm = RunAll(engine, [second])[0];

        Assert.Equal(0, cold.Final.Usage!.Value.CachedPromptTokens);
        Assert.True(warm.Final.Usage!.Value.CachedPromptTokens >= 16, $"cached {warm.Final.Usage!.Value.CachedPromptTokens}");
    }

    [Fact]
    public void Cancel_ends_a_running_turn_with_one_cancelled_event()
    {
        using var paged = LlmModel.Load(new EngineOptions { ModelPath = Models.TinyPaged });
        using var engine = new GenAIEngine(paged.Model);
        using var request = engine.CreateRequest();
        var turn = Begin(request, paged.Encode("cancel me"), 200);
        engine.Run();
        Assert.True(request.CancelTurn(turn));
        var rest = RunAll(engine, [request])[0];
        Assert.Equal(EngineFinishReason.Cancelled, rest.Final.FinishReason);
        Assert.False(request.CancelTurn(turn)); // already finished
    }

    [Fact]
    public void Stop_strings_and_seeds_are_accepted_and_seeded_turns_repeat()
    {
        using var paged = LlmModel.Load(new EngineOptions { ModelPath = Models.TinyPaged });
        using var engine = new GenAIEngine(paged.Model);
        List<int> Sampled()
        {
            using var r = engine.CreateRequest();
            using var options = r.CreateTurnOptions().MaxGeneratedTokens(12).DoSample(true).Temperature(1.0).Seed(7);
            r.BeginTurn(options, paged.Encode("seeded"));
            return RunAll(engine, [r])[0].Tokens;
        }
        Assert.Equal(Sampled(), Sampled());

        using var request = engine.CreateRequest();
        using var stop = request.CreateTurnOptions().MaxGeneratedTokens(100).DoSample(false).StopStrings(["e"]);
        request.BeginTurn(stop, paged.Encode("stop at the first e"));
        var result = RunAll(engine, [request])[0];
        Assert.Equal(EngineFinishReason.StopString, result.Final.FinishReason);
        Assert.Equal(0, result.Final.StopStringIndex);
    }

    [Fact]
    public void Native_errors_carry_the_native_message()
    {
        using var paged = LlmModel.Load(new EngineOptions { ModelPath = Models.TinyPaged });
        using var engine = new GenAIEngine(paged.Model);
        using var request = engine.CreateRequest();
        using var options = request.CreateTurnOptions();
        var empty = Assert.Throws<GenAIEngineException>(() => options.StopStrings([""]));
        Assert.False(string.IsNullOrWhiteSpace(empty.Message));
        options.Guidance("json_schema", "{ this is not json");
        var bad = Assert.Throws<GenAIEngineException>(() => request.BeginTurn(options, paged.Encode("x")));
        Assert.False(string.IsNullOrWhiteSpace(bad.Message));
        var tooLong = Assert.Throws<GenAIEngineException>(() =>
        {
            using var plainOptions = request.CreateTurnOptions();
            request.BeginTurn(plainOptions, new int[64 * 16 + 10]);
        });
        Assert.False(string.IsNullOrWhiteSpace(tooLong.Message));
    }

    [Fact]
    public void Engine_calls_from_another_thread_are_refused()
    {
        using var paged = LlmModel.Load(new EngineOptions { ModelPath = Models.TinyPaged });
        using var engine = new GenAIEngine(paged.Model);
        Exception? error = null;
        var other = new Thread(() => error = Record.Exception(() => engine.HasPendingRequests()));
        other.Start();
        other.Join();
        Assert.IsType<InvalidOperationException>(error);
        Assert.Contains("thread", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_plain_model_gets_a_static_engine()
    {
        using var plain = LlmModel.Load(new EngineOptions { ModelPath = Models.Tiny });
        using var engine = new GenAIEngine(plain.Model);
        Assert.False(engine.Capabilities.DynamicBatching);
    }
}
