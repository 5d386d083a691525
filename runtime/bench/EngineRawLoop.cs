using System.Diagnostics;
using LlmInfra.Engine;
using LlmInfra.Engine.Native;

namespace LlmInfra.Bench;

/// <summary>
/// The in-process baseline for paged models: GenAI's Engine driven directly on this thread (no HTTP, no channel, no
/// admission control), all prompts begun at once, greedy, fixed length. What the server's engine backend is compared to.
/// </summary>
public static class EngineRawLoop
{
    public static List<RequestSample> Run(LlmModel model, string[] prompts, int maxTokens)
    {
        using var engine = new GenAIEngine(model.Model);
        var start = Stopwatch.GetTimestamp();
        var requests = new List<EngineRequest>();
        var arrivals = new Dictionary<IntPtr, List<long>>();
        foreach (var prompt in prompts)
        {
            var request = engine.CreateRequest();
            using var options = request.CreateTurnOptions().MaxGeneratedTokens(maxTokens).DoSample(false);
            request.BeginTurn(options, model.Encode(prompt));
            requests.Add(request);
            arrivals[request.Id] = [];
        }
        var streams = requests.ToDictionary(r => r.Id, _ => model.Tokenizer.CreateStream());
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
        foreach (var r in requests)
        {
            r.Close();
            r.Dispose();
        }
        return requests.Select(r => RequestSample.From(start, arrivals[r.Id], arrivals[r.Id].Count)).ToList();
    }
}
