using LlmInfra.Runtime.Api;
using LlmInfra.Runtime.Observability;

namespace LlmInfra.Runtime.Security;

/// <summary>
/// Bearer-token check for /v1/*; health, readiness and metrics stay open for probes and scrapers. The matched
/// <see cref="ApiKeyEntry"/> becomes a request feature for <see cref="TenantLimitMiddleware"/>.
/// </summary>
public sealed class ApiKeyMiddleware(RequestDelegate next, ApiKeyHolder holder)
{
    private readonly ApiKeyStore? _keys = holder.Store;

    public Task InvokeAsync(HttpContext context)
    {
        if (_keys is null || !context.Request.Path.StartsWithSegments("/v1"))
            return next(context);

        var header = context.Request.Headers.Authorization.ToString();
        const string scheme = "Bearer ";
        if (!header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
            return Reject(context, "Missing API key. Send it as 'Authorization: Bearer <key>'.");
        var presented = header[scheme.Length..].Trim();
        var log = AccessLogFeature.Get(context);
        log.KeyFingerprint = ApiKeyStore.Fingerprint(presented);
        if (_keys.Find(presented) is not { } key)
            return Reject(context, "Incorrect API key provided.");
        log.KeyId = key.Id;
        context.Features.Set(key);
        return next(context);
    }

    private static Task Reject(HttpContext context, string message)
    {
        context.Response.Headers.WWWAuthenticate = "Bearer";
        return OpenAiError.Write(context, StatusCodes.Status401Unauthorized, message, "invalid_request_error", null, "invalid_api_key");
    }
}

/// <summary>The configured keys, or null when the server runs with --no-auth.</summary>
public sealed record ApiKeyHolder(ApiKeyStore? Store);
