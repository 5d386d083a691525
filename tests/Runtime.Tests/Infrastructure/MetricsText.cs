using System.Globalization;

namespace LlmInfra.Runtime.Tests.Infrastructure;

/// <summary>Reads samples out of Prometheus text format.</summary>
public static class MetricsText
{
    public static async Task<string> ScrapeAsync(this HttpClient client) => await client.GetStringAsync("/metrics");

    /// <summary>Value of the sample whose name and labels start with <paramref name="series"/>, e.g. llm_requests_total{model="tiny",outcome="ok"}.</summary>
    public static double Value(string text, string series)
    {
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith(series + " ", StringComparison.Ordinal))
                return double.Parse(line[(series.Length + 1)..], CultureInfo.InvariantCulture);
        }
        throw new Xunit.Sdk.XunitException($"Series {series} not found in /metrics.");
    }
}
