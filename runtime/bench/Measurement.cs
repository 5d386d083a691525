using System.Diagnostics;

namespace LlmInfra.Bench;

/// <summary>One request: time to first token, gaps between tokens, tokens generated.</summary>
public sealed record RequestSample(TimeSpan Ttft, IReadOnlyList<TimeSpan> Gaps, int Tokens)
{
    public static RequestSample From(long start, IReadOnlyList<long> arrivals, int tokens)
    {
        var gaps = new List<TimeSpan>();
        for (var i = 1; i < arrivals.Count; i++) gaps.Add(Stopwatch.GetElapsedTime(arrivals[i - 1], arrivals[i]));
        return new RequestSample(arrivals.Count > 0 ? Stopwatch.GetElapsedTime(start, arrivals[0]) : TimeSpan.Zero, gaps, tokens);
    }
}

/// <summary>All requests of one concurrency level, and the wall time they took together.</summary>
public sealed record Measurement(IReadOnlyList<RequestSample> Samples, TimeSpan Wall)
{
    public static Measurement Combine(IEnumerable<Measurement> parts)
    {
        var list = parts.ToList();
        return new Measurement(list.SelectMany(m => m.Samples).ToList(), TimeSpan.FromTicks(list.Sum(m => m.Wall.Ticks)));
    }

    public double TokensPerSecond => Samples.Sum(s => s.Tokens) / Wall.TotalSeconds;

    public double Ttft(double quantile) => Percentile(Samples.Select(s => s.Ttft.TotalMilliseconds), quantile);

    public double ItlP50 => Percentile(Samples.SelectMany(s => s.Gaps).Select(g => g.TotalMilliseconds), 0.5);

    private static double Percentile(IEnumerable<double> values, double quantile)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0) return 0;
        var rank = quantile * (sorted.Length - 1);
        var low = (int)Math.Floor(rank);
        var high = (int)Math.Ceiling(rank);
        return sorted[low] + (sorted[high] - sorted[low]) * (rank - low);
    }
}
