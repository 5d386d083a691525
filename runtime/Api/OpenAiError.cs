using System.Text.Json;

namespace LlmInfra.Runtime.Api;

/// <summary>OpenAI's error body: {"error":{"message","type","param","code"}}.</summary>
public static class OpenAiError
{
    public static Task Write(HttpContext context, int status, string message, string type, string? param, string? code)
    {
        if (context.Response.HasStarted) return Task.CompletedTask;
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(JsonSerializer.Serialize(Body(message, type, param, code), OpenAiJson.Options));
    }

    public static ErrorResponse Body(string message, string type, string? param, string? code) =>
        new(new ErrorDetail(message, type, param, code));

    public static Task BadRequest(HttpContext context, string message, string? param, string code = "invalid_value") =>
        Write(context, StatusCodes.Status400BadRequest, message, "invalid_request_error", param, code);
}

/// <summary>Raised by request validation; turned into a 400 naming the field.</summary>
public sealed class RequestValidationException(string message, string? param, string code = "invalid_value") : Exception(message)
{
    public string? Param { get; } = param;
    public string Code { get; } = code;
}

public sealed record ErrorResponse(ErrorDetail Error);

public sealed record ErrorDetail(string Message, string Type, string? Param, string? Code);
