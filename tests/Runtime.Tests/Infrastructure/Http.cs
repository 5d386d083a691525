using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace LlmInfra.Runtime.Tests.Infrastructure;

/// <summary>Raw HTTP helpers: the tests check the wire format itself, not a client's view of it.</summary>
public static class Http
{
    public static Task<HttpResponseMessage> PostJsonAsync(this HttpClient client, string path, object body, CancellationToken ct = default) =>
        client.PostAsync(path, JsonContent.Create(body), ct);

    public static Task<HttpResponseMessage> PostRawAsync(this HttpClient client, string path, string body) =>
        client.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));

    public static async Task<JsonNode> JsonAsync(this HttpResponseMessage response) =>
        JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

    /// <summary>The body of a successful response; any other status fails the test with the status and the body.</summary>
    public static async Task<JsonNode> OkJsonAsync(this HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"HTTP {(int)response.StatusCode}: {body}");
        return JsonNode.Parse(body)!;
    }

    public static object Chat(string content, int maxTokens = 16, object? extra = null)
    {
        var body = new JsonObject
        {
            ["model"] = RuntimeServer.ModelName,
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = content }),
            ["max_tokens"] = maxTokens,
            ["temperature"] = 0,
        };
        Merge(body, extra);
        return body;
    }

    public static object Completion(string prompt, int maxTokens = 16, object? extra = null)
    {
        var body = new JsonObject
        {
            ["model"] = RuntimeServer.ModelName,
            ["prompt"] = prompt,
            ["max_tokens"] = maxTokens,
            ["temperature"] = 0,
        };
        Merge(body, extra);
        return body;
    }

    private static void Merge(JsonObject body, object? extra)
    {
        if (extra is null) return;
        foreach (var (key, value) in JsonSerializer.SerializeToNode(extra)!.AsObject())
            body[key] = value?.DeepClone();
    }

    /// <summary>Opens a streaming request and returns once the response headers are in.</summary>
    public static async Task<HttpResponseMessage> OpenStreamAsync(this HttpClient client, string path, object body, CancellationToken ct = default)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
        return await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
    }

    /// <summary>Reads "data: ..." events; the last element is "[DONE]" when the server finished properly.</summary>
    public static async IAsyncEnumerable<string> ReadEventsAsync(this HttpResponseMessage response)
    {
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        while (await reader.ReadLineAsync() is { } line)
        {
            if (line.Length == 0) continue;
            Assert.StartsWith("data: ", line);
            yield return line["data: ".Length..];
        }
    }

    public static async Task<List<string>> ReadAllEventsAsync(this HttpResponseMessage response)
    {
        var events = new List<string>();
        await foreach (var e in response.ReadEventsAsync()) events.Add(e);
        return events;
    }
}
