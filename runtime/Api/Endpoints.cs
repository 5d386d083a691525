using LlmInfra.Runtime.Hosting;
using LlmInfra.Runtime.Observability;
using Prometheus;

namespace LlmInfra.Runtime.Api;

/// <summary>Routes. Handlers stay thin; the work is in <see cref="CompletionHandler"/> and the engine.</summary>
public static class Endpoints
{
    private static readonly long StartedAt = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    public static void MapRuntimeEndpoints(this WebApplication app)
    {
        app.MapPost("/v1/chat/completions", (HttpContext context, CompletionHandler handler) => handler.ChatAsync(context));
        app.MapPost("/v1/completions", (HttpContext context, CompletionHandler handler) => handler.CompletionAsync(context));
        app.MapGet("/v1/models", (ModelHost host) =>
            Results.Json(new ModelList("list", [new ModelCard(host.ModelName, "model", StartedAt, "llm-infra")]), OpenAiJson.Options));
        app.Map("/v1/{**rest}", (HttpContext context) =>
            OpenAiError.Write(context, StatusCodes.Status404NotFound, $"Unknown endpoint {context.Request.Method} {context.Request.Path}.",
                "invalid_request_error", null, "unknown_url"));

        app.MapGet("/healthz", () => Results.Json(new { status = "alive" }));
        app.MapGet("/readyz", (ModelHost host) => host.State == ServingState.Ready
            ? Results.Json(new { status = "ready" })
            : Results.Json(new { status = host.State.ToString().ToLowerInvariant() }, statusCode: StatusCodes.Status503ServiceUnavailable));
        app.MapMetrics("/metrics", app.Services.GetRequiredService<RuntimeMetrics>().Registry);
    }
}
