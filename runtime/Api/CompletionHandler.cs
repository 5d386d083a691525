using System.Diagnostics;
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
        var validated = validator.Validate(request);
        var messages = RequestValidator.Messages(request);
        var scheduler = host.Scheduler!;
        var prompt = scheduler.Model.ApplyChatTemplate(messages);
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
        Generation generation;
        try
        {
            generation = host.Scheduler!.Submit(prompt, request.Sampling, clientGone.Token);
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
        log.PromptTokens = generation.PromptTokens;
        var usage = TokenUsage.Track(context, generation.PromptTokens);

        var timing = new TokenTiming(metrics, log);
        var sse = request.Stream ? new SseWriter(context) : null;
        try
        {
            if (sse is not null && format.Opening() is { } opening)
                await sse.WriteAsync(opening);
            // Write every piece that is ready, then flush once: when the client or the machine is slow, pieces
            // queue up and go out together instead of costing a write and a wake-up each.
            var reader = generation.Text;
            while (await reader.WaitToReadAsync(CancellationToken.None))
            {
                while (reader.TryRead(out var piece))
                {
                    timing.Piece();
                    usage.Piece();
                    sse?.Append(format.Delta(piece));
                }
                if (sse is not null) await sse.FlushAsync();
            }
        }
        catch (Exception ex)
        {
            // Whatever ends this request ends its generation, which must not keep the accelerator busy. A write
            // failure (the reader waits without a token, so only writes throw these) means the client went away:
            // the generation finishes as cancelled below. Anything else is a fault for the error middleware.
            await clientGone.CancelAsync();
            if (ex is not (OperationCanceledException or IOException)) throw;
        }

        var result = await generation.Completion;
        log.CompletionTokens = result.CompletionTokens;
        usage.Finish(result.CompletionTokens);
        metrics.Tokens(result.PromptTokens, result.CompletionTokens);
        if (options.Value.LogPrompts)
            logger.LogInformation("completion id={RequestId} text={Completion}", context.TraceIdentifier, result.Text);

        switch (result.FinishReason)
        {
            case FinishReason.Cancelled:
                log.Cancelled = true;
                log.FinishReason = "cancelled";
                if (!context.Response.HasStarted) context.Response.StatusCode = StatusCodes.Status499ClientClosedRequest;
                return;
            case FinishReason.DeadlineExceeded:
                log.Cancelled = true;
                log.FinishReason = "deadline";
                const string message = "The request did not finish within the server's request timeout.";
                if (sse is null)
                    await OpenAiError.Write(context, StatusCodes.Status504GatewayTimeout, message, "server_error", null, "timeout");
                else
                    await sse.TryFinishAsync(OpenAiError.Body(message, "server_error", null, "timeout"), null);
                return;
        }

        var finish = ResponseFormat.FinishReasonOf(result.FinishReason);
        log.FinishReason = finish;
        if (sse is null)
        {
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(JsonSerializer.Serialize(format.Complete(result), OpenAiJson.Options), CancellationToken.None);
        }
        else
        {
            await sse.TryFinishAsync(format.Finish(finish), request.IncludeUsage ? format.UsageOnly(Usage.Of(result.PromptTokens, result.CompletionTokens)) : null);
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
