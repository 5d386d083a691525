using LlmInfra.Runtime.Api;

namespace LlmInfra.Runtime.Hosting;

/// <summary>Refuses API work with 503 until the model is loaded and again once draining started.</summary>
public sealed class ReadinessGateMiddleware(RequestDelegate next, ModelHost host)
{
    public Task InvokeAsync(HttpContext context)
    {
        if (!context.Request.Path.StartsWithSegments("/v1") || host.State == ServingState.Ready)
            return next(context);
        context.Response.Headers.RetryAfter = "1";
        var message = host.State switch
        {
            ServingState.Loading => "The model is still loading. Retry shortly.",
            ServingState.Draining => "The server is shutting down. Retry on another replica.",
            _ => "The model failed to load.",
        };
        return OpenAiError.Write(context, StatusCodes.Status503ServiceUnavailable, message, "server_error", null, "service_unavailable");
    }
}
