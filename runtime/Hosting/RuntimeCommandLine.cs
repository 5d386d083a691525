using System.CommandLine;
using System.Globalization;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Options;

namespace LlmInfra.Runtime.Hosting;

/// <summary>
/// The command line. Each option maps onto a "Runtime:*" configuration key, so the same setting can come from
/// appsettings.json or an environment variable (Runtime__MaxConcurrent=8) and is validated in one place.
/// </summary>
public static class RuntimeCommandLine
{
    public sealed record Parsed(IReadOnlyDictionary<string, string?>? Settings, string[] PassThrough, int? ExitCode);

    public static Parsed Parse(string[] args)
    {
        var model = new Option<string>("--model") { Description = "Model folder to serve (genai_config.json, model, tokenizer).", HelpName = "dir" };
        var modelDigest = new Option<string>("--model-digest") { Description = "Digest the folder's model-manifest.json must have (sha256:<hex>); the folder is refused otherwise.", HelpName = "sha256:hex" };
        var skipVerify = new Option<bool>("--skip-verify") { Description = "At load, check the manifest's file sizes but not their SHA-256 (the fetch step hashed them)." };
        var demo = new Option<bool>("--demo") { Description = "Generate the built-in demo model (small, random weights, deterministic) into a cache folder and serve it." };
        var modelName = new Option<string>("--model-name") { Description = "Model id reported by /v1/models; default: the folder name, or 'demo'.", HelpName = "id" };
        var urls = new Option<string>("--urls") { Description = "Listen addresses, e.g. http://127.0.0.1:8080 (ASP.NET Core's setting).", HelpName = "urls" };
        var keys = new Option<string>("--api-keys-file") { Description = "API key file: one key per line, or 'id=<id> key=<key> [rpm=n] [tpm=n] [max_concurrent=n] [models=a,b]' entries.", HelpName = "file" };
        var noAuth = new Option<bool>("--no-auth") { Description = "Serve without API keys (required when no key file is given)." };
        var maxConcurrent = new Option<int?>("--max-concurrent") { Description = "Requests generating at once (default 8).", HelpName = "n" };
        var maxQueue = new Option<int?>("--max-queue") { Description = "Requests waiting before 429 (default 64).", HelpName = "n" };
        var tlsCert = new Option<string>("--tls-cert-file") { Description = "PEM certificate chain; serve HTTPS (https:// --urls), reloaded when it changes.", HelpName = "pem" };
        var tlsKey = new Option<string>("--tls-key-file") { Description = "PEM private key of --tls-cert-file.", HelpName = "pem" };
        var provider = new Option<string>("--provider") { Description = "Execution provider: cpu (default) or cuda.", HelpName = "cpu|cuda" };

        var root = new RootCommand("OpenAI-compatible inference server on ONNX Runtime GenAI.")
        {
            model, modelDigest, skipVerify, demo, modelName, urls, keys, noAuth, tlsCert, tlsKey, maxConcurrent, maxQueue, provider,
        };
        root.TreatUnmatchedTokensAsErrors = true;

        var result = root.Parse(args);
        if (result.Errors.Count > 0 || IsInfoRequest(args))
        {
            var exit = result.Invoke(); // prints help, version or the parse errors
            return new Parsed(null, [], result.Errors.Count > 0 ? 2 : exit);
        }

        var settings = new Dictionary<string, string?>();
        void Set(string key, string? value)
        {
            if (value is not null) settings[key] = value;
        }
        Set("Runtime:Model", result.GetValue(model));
        Set("Runtime:ModelDigest", result.GetValue(modelDigest));
        if (result.GetValue(skipVerify)) Set("Runtime:SkipVerify", "true");
        if (result.GetValue(demo)) Set("Runtime:Demo", "true");
        Set("Runtime:ModelName", result.GetValue(modelName));
        Set("Runtime:ApiKeysFile", result.GetValue(keys));
        if (result.GetValue(noAuth)) Set("Runtime:NoAuth", "true");
        Set("Runtime:TlsCertFile", result.GetValue(tlsCert));
        Set("Runtime:TlsKeyFile", result.GetValue(tlsKey));
        Set("Runtime:MaxConcurrent", result.GetValue(maxConcurrent)?.ToString(CultureInfo.InvariantCulture));
        Set("Runtime:MaxQueue", result.GetValue(maxQueue)?.ToString(CultureInfo.InvariantCulture));
        Set("Runtime:Provider", result.GetValue(provider));
        Set("urls", result.GetValue(urls));
        return new Parsed(settings, [], null);
    }

    private static bool IsInfoRequest(string[] args) => args.Any(a => a is "-h" or "--help" or "-?" or "--version");

    /// <summary>The generic host's category; it logs a failed start with a stack trace, which this class reports as one line.</summary>
    private const string HostCategory = "Microsoft.Extensions.Hosting.Internal.Host";

    /// <summary>
    /// Runs the server until SIGTERM/Ctrl+C. 0 after a clean drain, 1 when the model cannot load or the listen address
    /// cannot be bound, 2 for bad settings.
    /// </summary>
    public static async Task<int> RunAsync(IReadOnlyDictionary<string, string?> settings, string[] args)
    {
        ModelHost? host = null;
        try
        {
            // Every failure caught below is reported as one line; a fault nobody expected still ends the process
            // with its stack trace (it is not caught here).
            var app = RuntimeApp.Create(args, settings, b => b.Logging.AddFilter(HostCategory, LogLevel.Critical));
            // RunAsync disposes the app, so take what is read afterwards first.
            host = app.Services.GetRequiredService<ModelHost>();
            await app.RunAsync();
            if (host.StartupError is { } error)
                return await Fail(1, $"Startup failed: {error}");
            return 0;
        }
        catch (OptionsValidationException ex)
        {
            foreach (var failure in ex.Failures)
                await Console.Error.WriteLineAsync($"Invalid configuration: {failure}");
            return 2;
        }
        catch (OperationCanceledException) when (host?.StartupError is { } error)
        {
            // The model failed while the host was still starting (ModelHost defers the stop; this is the backstop).
            return await Fail(1, $"Startup failed: {error}");
        }
        catch (IOException ex) when (ex.InnerException is AddressInUseException)
        {
            // Kestrel's message names the address, e.g. "Failed to bind to address http://127.0.0.1:8080: address already in use."
            return await Fail(1, $"Startup failed: --urls (urls / ASPNETCORE_URLS): {ex.Message}");
        }
        catch (SocketException ex)
        {
            // Other bind failures, e.g. a port below 1024 without the privilege.
            return await Fail(1, $"Startup failed: --urls (urls / ASPNETCORE_URLS): cannot listen: {ex.Message}");
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException or IOException)
        {
            // Unreadable key file, malformed appsettings value, ...
            return await Fail(2, $"Startup failed: {ex.Message}");
        }
    }

    private static async Task<int> Fail(int code, string message)
    {
        await Console.Error.WriteLineAsync(message);
        return code;
    }
}
