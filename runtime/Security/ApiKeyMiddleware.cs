using LlmInfra.Runtime.Api;
using LlmInfra.Runtime.Observability;

namespace LlmInfra.Runtime.Security;

/// <summary>Bearer-token check for /v1/*; health, readiness and metrics stay open for probes and scrapers.</summary>
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
        var key = header[scheme.Length..].Trim();
        AccessLogFeature.Get(context).KeyFingerprint = ApiKeyStore.Fingerprint(key);
        return _keys.IsValid(key) ? next(context) : Reject(context, "Incorrect API key provided.");
    }

    private static Task Reject(HttpContext context, string message)
    {
        context.Response.Headers.WWWAuthenticate = "Bearer";
        return OpenAiError.Write(context, StatusCodes.Status401Unauthorized, message, "invalid_request_error", null, "invalid_api_key");
    }
}

/// <summary>The configured keys, or null when the server runs with --no-auth.</summary>
public sealed record ApiKeyHolder(ApiKeyStore? Store);
