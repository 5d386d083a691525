namespace LlmInfra.Smoke;

/// <summary>What to check and the thresholds a deployment must meet.</summary>
public sealed record SmokeOptions
{
    /// <summary>Base URL of the service, e.g. https://llama.llm.example.com (no /v1).</summary>
    public required Uri BaseUrl { get; init; }

    /// <summary>Bearer key; null only with --no-auth.</summary>
    public string? ApiKey { get; init; }

    /// <summary>Model id to call; null means the first one /v1/models lists.</summary>
    public string? Model { get; init; }

    public string Prompt { get; init; } = "Reply with one short sentence.";

    public int MaxTokens { get; init; } = 16;

    /// <summary>Streaming time to first token above this fails the check.</summary>
    public TimeSpan MaxTimeToFirstToken { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Any single step taking longer than this fails the check.</summary>
    public TimeSpan StepTimeout { get; init; } = TimeSpan.FromSeconds(60);
}
