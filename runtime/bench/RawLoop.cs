using System.Diagnostics;
using LlmInfra.Engine;
using Microsoft.ML.OnnxRuntimeGenAI;

namespace LlmInfra.Bench;

/// <summary>
/// The baseline: GenAI's API used directly, no HTTP, no scheduler, no queue. N concurrent sequences are split over the
/// same number of threads the server runs generator workers on, each thread decoding its share as one batched
/// generator: what the scheduler would do with perfectly aligned arrivals. Greedy, fixed length.
/// </summary>
public static class RawLoop
{
    public static List<RequestSample> Run(LlmModel model, string[] prompts, int maxTokens, int threads)
    {
        var start = Stopwatch.GetTimestamp();
        var groups = Enumerable.Range(0, Math.Min(threads, prompts.Length))
            .Select(t => prompts.Where((_, i) => i % threads == t).ToArray()).ToArray();
        var results = new List<RequestSample>[groups.Length];
        Parallel.For(0, groups.Length, new ParallelOptions { MaxDegreeOfParallelism = groups.Length },
            g => results[g] = RunBatch(model.Model, model.Tokenizer, groups[g], maxTokens, start));
        return results.SelectMany(r => r).ToList();
    }

    private static List<RequestSample> RunBatch(Model model, Tokenizer tokenizer, string[] prompts, int maxTokens, long start)
    {
        using var sequences = tokenizer.EncodeBatch(prompts);
        var promptLength = 0;
        for (ulong i = 0; i < (ulong)prompts.Length; i++) promptLength = Math.Max(promptLength, sequences[i].Length);

        using var generatorParams = new GeneratorParams(model);
        generatorParams.SetSearchOption("batch_size", prompts.Length);
        generatorParams.SetSearchOption("max_length", promptLength + maxTokens);
        generatorParams.SetSearchOption("do_sample", false);
        using var generator = new Generator(model, generatorParams);
        if (prompts.Length == 1) generator.AppendTokens(sequences[0]);
        else generator.AppendTokenSequences(sequences);

        var streams = prompts.Select(_ => tokenizer.CreateStream()).ToArray();
        var arrivals = prompts.Select(_ => new List<long>()).ToArray();
        for (var step = 0; step < maxTokens && !generator.IsDone(); step++)
        {
            generator.GenerateNextToken();
            var next = generator.GetNextTokens();
            var now = Stopwatch.GetTimestamp();
            for (var i = 0; i < prompts.Length; i++)
            {
                streams[i].Decode(next[i]); // decode like the server does
                arrivals[i].Add(now);
            }
        }
        foreach (var s in streams) s.Dispose();
        return arrivals.Select(a => RequestSample.From(start, a, a.Count)).ToList();
    }
}
