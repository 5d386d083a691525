using System.Diagnostics;
using System.Runtime.ExceptionServices;
using System.Text.Json;
using LlmInfra.Engine;
using LlmInfra.Runtime.Hosting;
using LlmInfra.Runtime.Observability;
using LlmInfra.Runtime.Security;
using Microsoft.Extensions.Options;

namespace LlmInfra.Runtime.Api;

/// <summary>Runs a validated request through the scheduler and writes the OpenAI response, plain or as SSE.</summary>
public sealed class CompletionHandler(
    ModelHost host,
    RequestValidator validator,
    RuntimeMetrics metrics,
    IOptions<RuntimeOptions> options,
    ILogger<CompletionHandler> logger)
{
    public async Task ChatAsync(HttpContext context)
    {
        var request = await ReadJsonAsync<ChatCompletionRequest>(context);
        var (validated, messages) = validator.ValidateChat(request);
        var prompt = host.Scheduler!.Model.ApplyChatTemplate(messages, validated.Tools?.TemplateJson);
        await RunAsync(context, prompt, validated, new ChatFormat(NewId("chatcmpl"), Now(), host.ModelName));
    }

    public async Task CompletionAsync(HttpContext context)
    {
        var request = await ReadJsonAsync<CompletionRequest>(context);
        var validated = validator.Validate(request);
        var prompt = RequestValidator.Prompt(request);
        await RunAsync(context, prompt, validated, new TextFormat(NewId("cmpl"), Now(), host.ModelName));
    }

    private static async Task<T> ReadJsonAsync<T>(HttpContext context) where T : class
    {
        try
        {
            return await JsonSerializer.DeserializeAsync<T>(context.Request.Body, OpenAiJson.Options, context.RequestAborted)
                ?? throw new RequestValidationException("The request body must be a JSON object.", null, "invalid_json");
        }
        catch (JsonException ex)
        {
            var param = ex.Path is { Length: > 2 } path ? path.TrimStart('$', '.') : null;
            // A string field (model, role) with invalid UTF-8 or an unpaired surrogate escape: the serializer wraps
            // the decoder's error; say what is wrong with it, as for the fields read later.
            var badText = ex.InnerException is InvalidOperationException or System.Text.DecoderFallbackException;
            var message = param is null
                ? "The request body is not valid JSON."
                : badText ? RequestValidator.InvalidText(param)
                : $"Invalid value for '{param}': the JSON type or syntax is wrong.";
            throw new RequestValidationException(message, param, param is not null && badText ? "invalid_value" : "invalid_json");
        }
    }

    private async Task RunAsync(HttpContext context, string prompt, ValidatedRequest request, ResponseFormat format)
    {
        var log = AccessLogFeature.Get(context);
        if (options.Value.LogPrompts)
            logger.LogInformation("prompt id={RequestId} text={Prompt}", context.TraceIdentifier, prompt);

        // Cancelled when the client goes away. Kestrel signals RequestAborted a moment after a write to a closed
        // connection fails, so a failed write cancels the generation itself rather than wait for that signal.
        using var clientGone = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        IReadOnlyList<Generation> generations;
        try
        {
            // All of n or none: a 429 never leaves part of a request running.
            generations = host.Scheduler!.SubmitAll(prompt, request.ChoiceSampling(), clientGone.Token);
        }
        catch (PromptTooLongException ex)
        {
            log.PromptTokens = ex.PromptTokens;
            await OpenAiError.BadRequest(context, ex.Message, format.PromptField, "context_length_exceeded");
            return;
        }
        catch (QueueFullException ex)
        {
            context.Response.Headers.RetryAfter = "1";
            await OpenAiError.Write(context, StatusCodes.Status429TooManyRequests, ex.Message, "rate_limit_error", null, "queue_full");
            return;
        }
        catch (SchedulerClosedException ex)
        {
            context.Response.Headers.RetryAfter = "1";
            await OpenAiError.Write(context, StatusCodes.Status503ServiceUnavailable, ex.Message, "server_error", null, "service_unavailable");
            return;
        }
        log.PromptTokens = generations[0].PromptTokens;
        // Per-key metering (tenant limits): the prompt is charged once, as OpenAI bills it, whatever n is.
        var keyTokens = TokenUsage.Track(context, generations[0].PromptTokens);

        var choices = generations.Select((_, i) => new ChoiceOutput(i, request.Tools)).ToArray();
        var timing = new TokenTiming(metrics, log);
        SseWriter? sse = null;
        void Open()
        {
            if (sse is not null) return;
            sse = new SseWriter(context);
            foreach (var choice in choices)
                if (format.Opening(choice.Index) is { } opening) sse.Append(opening);
        }
        // A guided stream opens with its first token: the backend may still refuse the grammar, and that is a 400.
        var deferOpening = request.Sampling.Guidance is not null;
        try
        {
            if (request.Stream && !deferOpening)
            {
                Open();
                await sse!.FlushAsync();
            }
            // Write every piece that is ready, then flush once: when the client or the machine is slow, pieces
            // queue up and go out together instead of costing a write and a wake-up each.
            var reader = ChoiceEvents.Merge(generations);
            while (await reader.WaitToReadAsync(CancellationToken.None))
            {
                while (reader.TryRead(out var e))
                {
                    if (e.Error is { } error) ExceptionDispatchInfo.Throw(error);
                    var choice = choices[e.Index];
                    if (e.Piece is { } piece)
                    {
                        if (e.Index == 0) timing.Piece();
                        keyTokens.Piece();
                        var deltas = choice.Append(piece);
                        if (!request.Stream) continue;
                        Open();
                        foreach (var delta in deltas) sse!.Append(format.Delta(e.Index, delta));
                    }
                    else if (e.Result is { FinishReason: FinishReason.Stop or FinishReason.Length } result && request.Stream)
                    {
                        Open();
                        sse!.Append(format.Finish(e.Index, choice.FinishReason(result)));
                    }
                }
                if (sse is not null) await sse.FlushAsync();
            }
        }
        catch (GuidanceRejectedException ex) when (sse is null)
        {
            await clientGone.CancelAsync();
            await Task.WhenAll(generations.Select(g => g.Completion.ContinueWith(_ => { }, TaskScheduler.Default)));
            log.FinishReason = "rejected";
            var field = request.GuidanceField ?? "response_format";
            await OpenAiError.BadRequest(context, $"The {field} constraint was refused by the guidance compiler: {ex.Message}", field, "invalid_guidance");
            return;
        }
        catch (Exception ex)
        {
            // Whatever ends this request ends its generations, which must not keep the accelerator busy. A write
            // failure (the reader waits without a token, so only writes throw these) means the client went away:
            // the generations finish as cancelled below. Anything else is a fault for the error middleware.
            await clientGone.CancelAsync();
            if (ex is not (OperationCanceledException or IOException)) throw;
        }

        var results = await Task.WhenAll(generations.Select(g => g.Completion));
        var completionTokens = results.Sum(r => r.CompletionTokens);
        log.CompletionTokens = completionTokens;
        keyTokens.Finish(completionTokens);
        foreach (var r in results) metrics.Tokens(r.PromptTokens, r.CompletionTokens);
        if (options.Value.LogPrompts)
            foreach (var r in results) logger.LogInformation("completion id={RequestId} text={Completion}", context.TraceIdentifier, r.Text);

        if (results.Any(r => r.FinishReason == FinishReason.Cancelled))
        {
            log.Cancelled = true;
            log.FinishReason = "cancelled";
            if (!context.Response.HasStarted) context.Response.StatusCode = StatusCodes.Status499ClientClosedRequest;
            return;
        }
        if (results.Any(r => r.FinishReason == FinishReason.DeadlineExceeded))
        {
            log.Cancelled = true;
            log.FinishReason = "deadline";
            const string message = "The request did not finish within the server's request timeout.";
            if (sse is null)
                await OpenAiError.Write(context, StatusCodes.Status504GatewayTimeout, message, "server_error", null, "timeout");
            else
                await sse.TryFinishAsync(OpenAiError.Body(message, "server_error", null, "timeout"), null);
            return;
        }

        var finished = choices.Select(c => c.Result(results[c.Index])).ToArray();
        log.FinishReason = finished[0].FinishReason;
        // OpenAI counts the prompt once however many choices share it.
        var usage = Usage.Of(results[0].PromptTokens, completionTokens, results[0].CachedPromptTokens);
        if (request.Stream)
        {
            Open(); // a guided stream that ended before its first token
            await sse!.TryFinishAsync(request.IncludeUsage ? format.UsageOnly(usage) : null);
        }
        else
        {
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(JsonSerializer.Serialize(format.Complete(finished, usage), OpenAiJson.Options), CancellationToken.None);
        }
    }

    private static string NewId(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    private static long Now() => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    /// <summary>Time to first token and inter-token gaps, as the HTTP layer sees them.</summary>
    private sealed class TokenTiming(RuntimeMetrics metrics, AccessLogFeature log)
    {
        private long _last;

        public void Piece()
        {
            var now = Stopwatch.GetTimestamp();
            if (_last == 0)
            {
                var ttft = Stopwatch.GetElapsedTime(log.StartedAt, now);
                log.TimeToFirstToken = ttft;
                metrics.FirstToken(ttft);
            }
            else
            {
                metrics.InterToken(Stopwatch.GetElapsedTime(_last, now));
            }
            _last = now;
        }
    }
}
