namespace LlmInfra.Runtime.Hosting;

/// <summary>
/// Server settings, bound from the "Runtime" configuration section (appsettings.json, environment variables such as
/// Runtime__MaxConcurrent, and the command line). Validated at startup by <see cref="RuntimeOptionsValidator"/>.
/// </summary>
public sealed class RuntimeOptions
{
    public const string Section = "Runtime";

    /// <summary>Model folder (genai_config.json, model, tokenizer). --model</summary>
    public string? Model { get; set; }

    /// <summary>Digest the model folder's manifest must have (sha256:&lt;hex&gt;); the stack pins it. --model-digest</summary>
    public string? ModelDigest { get; set; }

    /// <summary>At load, check file sizes but not SHA-256 (the fetch step has hashed them). --skip-verify</summary>
    public bool SkipVerify { get; set; }

    /// <summary>Generate and serve the built-in demo model instead of <see cref="Model"/>. --demo</summary>
    public bool Demo { get; set; }

    /// <summary>Where --demo caches the generated model; default under the user's local data folder.</summary>
    public string? DemoCacheDir { get; set; }

    /// <summary>Id reported by /v1/models and expected in requests; default the folder name ("demo" for --demo). --model-name</summary>
    public string? ModelName { get; set; }

    /// <summary>Execution provider: cpu or cuda. --provider</summary>
    public string Provider { get; set; } = "cpu";

    /// <summary>ONNX Runtime intra-op threads; 0 = automatic (CPU: cores divided among the generator workers; CUDA: ONNX Runtime's default).</summary>
    public int IntraOpThreads { get; set; }

    /// <summary>File with one API key per line (a mounted Kubernetes Secret). --api-keys-file</summary>
    public string? ApiKeysFile { get; set; }

    /// <summary>Serve without API keys; must be explicit. --no-auth</summary>
    public bool NoAuth { get; set; }

    /// <summary>PEM certificate chain for HTTPS (cert-manager's tls.crt); picked up again when it changes. --tls-cert-file</summary>
    public string? TlsCertFile { get; set; }

    /// <summary>PEM private key of <see cref="TlsCertFile"/> (tls.key). --tls-key-file</summary>
    public string? TlsKeyFile { get; set; }

    /// <summary>Requests generating at once. --max-concurrent</summary>
    public int MaxConcurrent { get; set; } = 8;

    /// <summary>Requests waiting beyond <see cref="MaxConcurrent"/> before 429. --max-queue</summary>
    public int MaxQueue { get; set; } = 64;

    /// <summary>Requests decoded together in one generator step; MaxConcurrent / MaxBatchSize generator workers run in parallel.</summary>
    public int MaxBatchSize { get; set; } = 8;

    /// <summary>Longest wait (ms) to fill a batch while recent load says more requests are coming.</summary>
    public int BatchWindowMs { get; set; } = 20;

    /// <summary>Upper bound for max_tokens in a request.</summary>
    public int MaxTokensCap { get; set; } = 4096;

    /// <summary>max_tokens when a request sets none.</summary>
    public int DefaultMaxTokens { get; set; } = 256;

    /// <summary>Longest prompt in tokens; 0 means the model's context length minus one.</summary>
    public int MaxPromptTokens { get; set; }

    /// <summary>Largest request body in bytes.</summary>
    public long MaxRequestBodyBytes { get; set; } = 1 << 20;

    /// <summary>Per-request deadline (queue plus generation), seconds.</summary>
    public int RequestTimeoutSeconds { get; set; } = 300;

    /// <summary>After SIGTERM, how long in-flight requests may take to finish, seconds.</summary>
    public int DrainGraceSeconds { get; set; } = 30;

    /// <summary>Log prompt and completion text (debugging only; off by default).</summary>
    public bool LogPrompts { get; set; }

    /// <summary>Makes the file and folder settings absolute, relative ones against <paramref name="baseDirectory"/>.</summary>
    public void ResolvePaths(string baseDirectory)
    {
        Model = Resolve(Model);
        ApiKeysFile = Resolve(ApiKeysFile);
        DemoCacheDir = Resolve(DemoCacheDir);
        TlsCertFile = Resolve(TlsCertFile);
        TlsKeyFile = Resolve(TlsKeyFile);

        string? Resolve(string? path) => string.IsNullOrWhiteSpace(path) ? path : Path.GetFullPath(path, baseDirectory);
    }
}
