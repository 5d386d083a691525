using System.ClientModel;
using System.Diagnostics;
using OpenAI;
using OpenAI.Chat;
using OpenAI.Models;

namespace LlmInfra.Smoke;

/// <summary>
/// readyz -> models -> chat -> streaming chat, in that order; stops at the first failure because each step
/// presumes the one before (no point chatting with a service that is not ready).
/// </summary>
public sealed class SmokeCheck(SmokeOptions options)
{
    private readonly List<SmokeStep> _steps = [];
    private TimeSpan? _ttft;

    public async Task<SmokeReport> RunAsync(CancellationToken cancellationToken = default)
    {
        using var http = new HttpClient();
        http.Timeout = options.StepTimeout;
        var model = options.Model;

        // && short-circuits: the first failed step ends the check.
        _ = await Step("readyz", async ct =>
        {
            using var response = await http.GetAsync(new Uri(options.BaseUrl, "/readyz"), ct);
            return response.IsSuccessStatusCode
                ? "ready"
                : throw new SmokeFailure($"GET /readyz returned {(int)response.StatusCode} {response.ReasonPhrase}: the service is not ready (model loading or draining)");
        }, cancellationToken)
        && await Step("models", async ct =>
        {
            var ids = new List<string>();
            foreach (var m in (await ModelClient(http).GetModelsAsync(ct)).Value) ids.Add(m.Id);
            if (ids.Count == 0) throw new SmokeFailure("GET /v1/models listed no model");
            if (model is not null && !ids.Contains(model))
                throw new SmokeFailure($"model '{model}' is not served; /v1/models lists: {string.Join(", ", ids)}");
            model ??= ids[0];
            return $"serving {string.Join(", ", ids)}";
        }, cancellationToken)
        && await Step("chat", async ct =>
        {
            ChatCompletion completion = await ChatClient(http, model!).CompleteChatAsync([new UserChatMessage(options.Prompt)], ChatOptions(), ct);
            if (completion.Usage.OutputTokenCount <= 0) throw new SmokeFailure("the completion reported no generated tokens");
            return $"{completion.Usage.InputTokenCount} prompt + {completion.Usage.OutputTokenCount} generated tokens, finish {completion.FinishReason}";
        }, cancellationToken)
        && await Step("stream", async ct =>
        {
            var clock = Stopwatch.StartNew();
            TimeSpan? first = null;
            var chunks = 0;
            await foreach (var update in ChatClient(http, model!).CompleteChatStreamingAsync([new UserChatMessage(options.Prompt)], ChatOptions(), ct))
            {
                if (update.ContentUpdate.Count == 0) continue;
                first ??= clock.Elapsed;
                chunks++;
            }
            if (first is null) throw new SmokeFailure("the stream carried no content");
            _ttft = first;
            if (first > options.MaxTimeToFirstToken)
                throw new SmokeFailure($"time to first token {first.Value.TotalMilliseconds:F0} ms exceeds the limit of {options.MaxTimeToFirstToken.TotalMilliseconds:F0} ms");
            return $"{chunks} chunks, time to first token {first.Value.TotalMilliseconds:F0} ms";
        }, cancellationToken);

        return new SmokeReport(options.BaseUrl, _steps, _ttft);
    }

    private async Task<bool> Step(string name, Func<CancellationToken, Task<string>> body, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.StepTimeout);
        string detail;
        bool passed;
        try
        {
            detail = await body(timeout.Token);
            passed = clock.Elapsed <= options.StepTimeout;
            if (!passed) detail = $"took longer than {options.StepTimeout.TotalSeconds:F0} s";
        }
        catch (SmokeFailure ex)
        {
            (passed, detail) = (false, ex.Message);
        }
        catch (ClientResultException ex)
        {
            (passed, detail) = (false, ex.Status == 401
                ? "HTTP 401: the API key was refused"
                : $"HTTP {ex.Status}: {ex.Message}");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            (passed, detail) = (false, $"no answer within {options.StepTimeout.TotalSeconds:F0} s");
        }
        catch (HttpRequestException ex)
        {
            (passed, detail) = (false, $"cannot reach {options.BaseUrl}: {ex.Message}");
        }
        _steps.Add(new SmokeStep(name, passed, clock.Elapsed, detail));
        return passed;
    }

    private ChatCompletionOptions ChatOptions() => new() { MaxOutputTokenCount = options.MaxTokens, Temperature = 0f };

    private OpenAIClientOptions ClientOptions(HttpClient http) => new()
    {
        Endpoint = new Uri(options.BaseUrl, "/v1"),
        Transport = new System.ClientModel.Primitives.HttpClientPipelineTransport(http),
        NetworkTimeout = options.StepTimeout,
        // A smoke check reports what the service does now; retries would hide flakiness.
        RetryPolicy = new System.ClientModel.Primitives.ClientRetryPolicy(maxRetries: 0),
    };

    // --no-auth deployments ignore the header; the client library insists on a credential.
    private ApiKeyCredential Credential => new(options.ApiKey ?? "no-auth");

    private OpenAIModelClient ModelClient(HttpClient http) => new(Credential, ClientOptions(http));

    private ChatClient ChatClient(HttpClient http, string model) => new(model, Credential, ClientOptions(http));
}

/// <summary>A step's own verdict, with the message the operator reads.</summary>
public sealed class SmokeFailure(string message) : Exception(message);
