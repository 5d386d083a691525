using System.CommandLine;

namespace LlmInfra.Smoke;

/// <summary>
/// Command line: <c>--url &lt;base&gt; --api-keys-file &lt;f&gt;</c> plus thresholds. Exit codes: 0 every step passed,
/// 1 a step failed, 2 bad usage (missing option, unreadable key file).
/// </summary>
public static class SmokeCommand
{
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken = default)
    {
        var url = new Option<string>("--url") { Description = "Base URL of the service, e.g. https://llama.llm.example.com", Required = true };
        var keyFile = new Option<FileInfo>("--api-keys-file", "--api-key-file") { Description = "File whose first non-comment line is the API key, bare or as the server's 'id=... key=...' entry (the server's spelling; --api-key-file is the old one, still accepted)." };
        var noAuth = new Option<bool>("--no-auth") { Description = "Call without a key (local runtimes started with --no-auth)." };
        var model = new Option<string>("--model") { Description = "Model id to call; default: the first one /v1/models lists." };
        var maxTtft = new Option<int>("--max-ttft-ms") { Description = "Fail when streaming time to first token exceeds this (default 10000).", DefaultValueFactory = _ => 10_000 };
        var timeout = new Option<int>("--timeout-seconds") { Description = "Fail a step that takes longer (default 60).", DefaultValueFactory = _ => 60 };
        var root = new RootCommand("Smoke check of a deployed LLM runtime: readiness, models, chat, streaming chat.")
        {
            url, keyFile, noAuth, model, maxTtft, timeout,
        };
        root.TreatUnmatchedTokensAsErrors = true;

        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0 || args.Any(a => a is "-h" or "--help" or "--version"))
        {
            var exit = await parsed.InvokeAsync(new InvocationConfiguration { Output = output, Error = error }, cancellationToken);
            return parsed.Errors.Count > 0 ? 2 : exit;
        }

        var rawUrl = parsed.GetValue(url)!;
        if (!Uri.TryCreate(rawUrl, UriKind.Absolute, out var baseUrl) || baseUrl.Scheme is not ("http" or "https"))
            return Usage(error, $"--url must be an absolute http(s) URL, got '{rawUrl}'");
        if (parsed.GetValue(maxTtft) <= 0) return Usage(error, "--max-ttft-ms must be > 0");
        if (parsed.GetValue(timeout) <= 0) return Usage(error, "--timeout-seconds must be > 0");

        string? key = null;
        var file = parsed.GetValue(keyFile);
        if (file is null && !parsed.GetValue(noAuth)) return Usage(error, "--api-keys-file is required (or --no-auth for a runtime without keys)");
        if (file is not null)
        {
            if (!file.Exists) return Usage(error, $"--api-keys-file: '{file.FullName}' does not exist");
            key = (await File.ReadAllLinesAsync(file.FullName, cancellationToken))
                .Select(l => l.Trim())
                .Where(l => l.Length > 0 && !l.StartsWith('#'))
                .Select(KeyOf)
                .FirstOrDefault();
            if (key is null) return Usage(error, $"--api-keys-file: '{file.FullName}' holds no key");
        }

        var options = new SmokeOptions
        {
            BaseUrl = baseUrl,
            ApiKey = key,
            Model = parsed.GetValue(model),
            MaxTimeToFirstToken = TimeSpan.FromMilliseconds(parsed.GetValue(maxTtft)),
            StepTimeout = TimeSpan.FromSeconds(parsed.GetValue(timeout)),
        };
        var report = await new SmokeCheck(options).RunAsync(cancellationToken);
        report.WriteTo(report.Passed ? output : error);
        return report.Passed ? 0 : 1;
    }

    private static int Usage(TextWriter error, string message)
    {
        error.WriteLine(message);
        return 2;
    }

    /// <summary>A line of the server's key file: a bare key, or an entry whose key is its key= field.</summary>
    private static string? KeyOf(string line) =>
        !line.Any(char.IsWhiteSpace) ? line
        : line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).FirstOrDefault(f => f.StartsWith("key=", StringComparison.Ordinal))?["key=".Length..];
}
