using LlmInfra.Runtime.Observability;

namespace LlmInfra.Runtime.Api;

/// <summary>Turns every failure into OpenAI's error JSON. Bad input maps to 4xx; only real faults become 500.</summary>
public sealed class ErrorHandlingMiddleware(RequestDelegate next, ILogger<ErrorHandlingMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await next(context);
        }
        catch (RequestValidationException ex)
        {
            await OpenAiError.BadRequest(context, ex.Message, ex.Param, ex.Code);
        }
        catch (BadHttpRequestException ex)
        {
            // Kestrel's own checks: body over the size limit (413), malformed framing, read timeouts.
            var message = ex.StatusCode == StatusCodes.Status413PayloadTooLarge ? "The request body is too large." : ex.Message;
            await OpenAiError.Write(context, ex.StatusCode, message, "invalid_request_error", null,
                ex.StatusCode == StatusCodes.Status413PayloadTooLarge ? "request_too_large" : "bad_request");
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException && context.RequestAborted.IsCancellationRequested)
        {
            AccessLogFeature.Get(context).Cancelled = true;
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "Unhandled error for request {RequestId}", context.TraceIdentifier);
            AccessLogFeature.Get(context).Faulted = true;
            await OpenAiError.Write(context, StatusCodes.Status500InternalServerError, "The server had an error while processing the request.",
                "server_error", null, "internal_error");
        }
    }
}
