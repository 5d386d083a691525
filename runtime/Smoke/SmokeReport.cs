namespace LlmInfra.Smoke;

public sealed record SmokeStep(string Name, bool Passed, TimeSpan Duration, string Detail);

public sealed record SmokeReport(Uri BaseUrl, IReadOnlyList<SmokeStep> Steps, TimeSpan? TimeToFirstToken)
{
    public bool Passed => Steps.Count > 0 && Steps.All(s => s.Passed);

    public void WriteTo(TextWriter output)
    {
        foreach (var step in Steps)
            output.WriteLine($"{(step.Passed ? "PASS" : "FAIL")}  {step.Name,-12} {step.Duration.TotalMilliseconds,8:F0} ms  {step.Detail}");
        var failed = Steps.FirstOrDefault(s => !s.Passed);
        output.WriteLine(failed is null
            ? $"smoke check passed: {Steps.Count} steps against {BaseUrl}" + (TimeToFirstToken is { } t ? $", time to first token {t.TotalMilliseconds:F0} ms" : "")
            : $"smoke check FAILED at '{failed.Name}' against {BaseUrl}: {failed.Detail}");
    }
}
