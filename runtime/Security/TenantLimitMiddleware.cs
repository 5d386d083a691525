using System.Globalization;
using LlmInfra.Runtime.Api;
using LlmInfra.Runtime.Hosting;
using LlmInfra.Runtime.Observability;

namespace LlmInfra.Runtime.Security;

/// <summary>
/// Applies the authenticated key's model list and limits to /v1 requests. Runs after the key check and the readiness
/// gate, so requests refused for those reasons use up no part of a key's limits. Limits count POST requests (the
/// endpoints that run the model); GET /v1/models is free.
/// </summary>
public sealed class TenantLimitMiddleware(RequestDelegate next, TenantLimits limits, ModelHost host)
{
    public async Task InvokeAsync(HttpContext context)
    {
        if (context.Features.Get<ApiKeyEntry>() is not { } key || !context.Request.Path.StartsWithSegments("/v1"))
        {
            await next(context);
            return;
        }

        if (!key.MayUse(host.ModelName))
        {
            // As OpenAI does for a model a key may not use: the listing leaves it out, using it is a 404.
            if (HttpMethods.IsGet(context.Request.Method) && context.Request.Path.Equals("/v1/models"))
                await context.Response.WriteAsJsonAsync(new ModelList("list", []), OpenAiJson.Options);
            else
                await OpenAiError.Write(context, StatusCodes.Status404NotFound,
                    $"The model '{host.ModelName}' does not exist or API key '{key.Id}' does not have access to it.",
                    "invalid_request_error", "model", "model_not_found");
            return;
        }

        if (!HttpMethods.IsPost(context.Request.Method))
        {
            await next(context);
            return;
        }

        var account = limits.For(key);
        using var admitted = account.Limiter.TryAdmit(out var exceeded);
        if (exceeded is not null)
        {
            AccessLogFeature.Get(context).RateLimited = true;
            context.Response.Headers.RetryAfter = exceeded.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
            await OpenAiError.Write(context, StatusCodes.Status429TooManyRequests,
                $"Rate limit reached for API key '{key.Id}' on {exceeded.Description} ({exceeded.Field}): limit {exceeded.Limit}. " +
                $"Retry after {exceeded.RetryAfterSeconds} s.",
                exceeded.ErrorType, null, "rate_limit_exceeded");
            return;
        }
        context.Features.Set(account);
        await next(context);
    }
}
