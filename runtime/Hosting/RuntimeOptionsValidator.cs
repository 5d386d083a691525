using Microsoft.Extensions.Options;

namespace LlmInfra.Runtime.Hosting;

/// <summary>Startup validation; every message names the setting and its command-line option.</summary>
public sealed class RuntimeOptionsValidator : IValidateOptions<RuntimeOptions>
{
    public ValidateOptionsResult Validate(string? name, RuntimeOptions o)
    {
        var errors = new List<string>();
        void Range(long value, long min, long max, string key, string? flag = null)
        {
            if (value < min || value > max)
                errors.Add($"{Describe(key, flag)} must be between {min} and {max} (got {value}).");
        }

        if (o.Demo == !string.IsNullOrWhiteSpace(o.Model))
            errors.Add(o.Demo
                ? $"{Describe(nameof(o.Model), "--model")} and {Describe(nameof(o.Demo), "--demo")} exclude each other; give one."
                : $"No model: give {Describe(nameof(o.Model), "--model")} <dir> or {Describe(nameof(o.Demo), "--demo")}.");
        if (o.Provider is not ("cpu" or "cuda"))
            errors.Add($"{Describe(nameof(o.Provider), "--provider")} must be 'cpu' or 'cuda' (got '{o.Provider}').");
        if (o.ModelDigest is not null && !LlmInfra.Artifacts.ArtifactDigest.IsValid(o.ModelDigest))
            errors.Add($"{Describe(nameof(o.ModelDigest), "--model-digest")} must be {LlmInfra.Artifacts.ArtifactDigest.Format} (got '{o.ModelDigest}').");
        else if (o.ModelDigest is not null && o.Demo)
            errors.Add($"{Describe(nameof(o.ModelDigest), "--model-digest")} applies to a --model folder, not to {Describe(nameof(o.Demo), "--demo")}.");
        if (o.ModelName is { } modelName && string.IsNullOrWhiteSpace(modelName))
            errors.Add($"{Describe(nameof(o.ModelName), "--model-name")} must not be blank.");

        if (o.NoAuth && !string.IsNullOrEmpty(o.ApiKeysFile))
            errors.Add($"{Describe(nameof(o.ApiKeysFile), "--api-keys-file")} and {Describe(nameof(o.NoAuth), "--no-auth")} exclude each other.");
        else if (!o.NoAuth && string.IsNullOrEmpty(o.ApiKeysFile))
            errors.Add($"No API keys: give {Describe(nameof(o.ApiKeysFile), "--api-keys-file")} <file> (one key per line), or pass {Describe(nameof(o.NoAuth), "--no-auth")} to serve without authentication.");
        else if (!o.NoAuth && !File.Exists(o.ApiKeysFile))
            errors.Add($"{Describe(nameof(o.ApiKeysFile), "--api-keys-file")}: file '{o.ApiKeysFile}' does not exist.");

        Range(o.MaxConcurrent, 1, 256, nameof(o.MaxConcurrent), "--max-concurrent");
        Range(o.MaxQueue, 0, 100_000, nameof(o.MaxQueue), "--max-queue");
        Range(o.MaxBatchSize, 1, 64, nameof(o.MaxBatchSize));
        Range(o.BatchWindowMs, 0, 1000, nameof(o.BatchWindowMs));
        Range(o.IntraOpThreads, 0, 256, nameof(o.IntraOpThreads));
        Range(o.MaxTokensCap, 1, 1_000_000, nameof(o.MaxTokensCap));
        Range(o.DefaultMaxTokens, 1, o.MaxTokensCap, nameof(o.DefaultMaxTokens));
        Range(o.MaxPromptTokens, 0, 10_000_000, nameof(o.MaxPromptTokens));
        Range(o.MaxRequestBodyBytes, 1024, 1L << 30, nameof(o.MaxRequestBodyBytes));
        Range(o.RequestTimeoutSeconds, 1, 86_400, nameof(o.RequestTimeoutSeconds));
        Range(o.DrainGraceSeconds, 0, 3600, nameof(o.DrainGraceSeconds));

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static string Describe(string key, string? flag) =>
        flag is null ? $"{RuntimeOptions.Section}:{key}" : $"{RuntimeOptions.Section}:{key} ({flag})";
}
