using System.Buffers;
using System.Text.Json;

namespace LlmInfra.Runtime.Api;

/// <summary>Server-sent events in OpenAI's form: "data: {json}\n\n" per chunk, "data: [DONE]\n\n" last.</summary>
public sealed class SseWriter
{
    private readonly HttpContext _context;
    private Utf8JsonWriter? _json;

    public SseWriter(HttpContext context)
    {
        _context = context;
        var response = context.Response;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no"; // keep reverse proxies from buffering the stream
    }

    public async Task WriteAsync(object chunk)
    {
        Append(chunk);
        await FlushAsync();
    }

    /// <summary>Buffers one event; <see cref="FlushAsync"/> sends what is buffered.</summary>
    public void Append(object chunk)
    {
        var writer = _context.Response.BodyWriter;
        writer.Write("data: "u8);
        // One JSON writer per stream, reset per event: a stream writes one event per token.
        if (_json is null) _json = new Utf8JsonWriter(writer);
        else _json.Reset(writer);
        JsonSerializer.Serialize(_json, chunk, chunk.GetType(), OpenAiJson.Options);
        _json.Flush();
        writer.Write("\n\n"u8);
    }

    public async Task FlushAsync()
    {
        var flushed = await _context.Response.BodyWriter.FlushAsync(_context.RequestAborted);
        if (flushed.IsCanceled || flushed.IsCompleted)
            throw new OperationCanceledException(_context.RequestAborted);
    }

    /// <summary>Writes the closing chunks and [DONE]; a client that already left is not an error.</summary>
    public Task TryFinishAsync(object last, object? usage)
    {
        Append(last);
        return TryFinishAsync(usage);
    }

    /// <summary>Writes what is buffered, the usage chunk if any, and [DONE]; a client that already left is not an error.</summary>
    public async Task TryFinishAsync(object? usage)
    {
        try
        {
            if (usage is not null) Append(usage);
            _context.Response.BodyWriter.Write("data: [DONE]\n\n"u8);
            await _context.Response.BodyWriter.FlushAsync(_context.RequestAborted);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException)
        {
        }
    }
}
