using System.Net;
using System.Net.Http.Headers;
using System.Text;
using LlmInfra.Runtime.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LlmInfra.Runtime.Tests;

/// <summary>Own server with its logs captured; the metrics and logs of this class's requests are its alone.</summary>
public sealed class InvalidTextServerFixture : IAsyncLifetime
{
    public LogCapture Logs { get; } = new();
    public RuntimeServer Server { get; private set; } = null!;

    public async Task InitializeAsync() =>
        Server = await RuntimeServer.StartAsync(configure: b => b.Services.AddSingleton<ILoggerProvider>(Logs));

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>
/// Text that is not text: invalid UTF-8 bytes in the body, or a JSON escape of an unpaired UTF-16 surrogate. Bad
/// client input, so a 400 naming the field, on both endpoints, streaming or not; never a 500, an "error" outcome
/// (which feeds the error-rate alert) or a logged stack trace.
/// </summary>
public sealed class InvalidTextTests(InvalidTextServerFixture fixture) : IClassFixture<InvalidTextServerFixture>
{
    private const string Model = "model=\"tiny\"";
    private const string Hole = "@@";

    /// <summary>What goes into the hole of a request: escapes are JSON text, the rest raw bytes inside a string.</summary>
    private static readonly (string Name, byte[] Bytes)[] BadTexts =
    [
        ("lone high surrogate escape", "\\ud800"u8.ToArray()),
        ("lone low surrogate escape", "x\\udc00y"u8.ToArray()),
        ("truncated UTF-8 sequence", [(byte)'a', 0xC3, (byte)'(']),
        ("byte 0xFF", [0xFF]),
        ("UTF-8-encoded surrogate", [0xED, 0xA0, 0x80]),
    ];

    public static TheoryData<string, string, string, bool> Fields()
    {
        var data = new TheoryData<string, string, string, bool>();
        (string Path, string Template, string Param)[] fields =
        [
            ("/v1/chat/completions", """{"messages":[{"role":"user","content":"@@"}]}""", "messages[0].content"),
            ("/v1/chat/completions", """{"messages":[{"role":"system","content":"ok"},{"role":"user","content":[{"type":"text","text":"ok"},{"type":"text","text":"@@"}]}]}""", "messages[1].content[1].text"),
            ("/v1/chat/completions", """{"messages":[{"role":"user","content":"hi"}],"stop":"@@"}""", "stop"),
            ("/v1/chat/completions", """{"messages":[{"role":"user","content":"hi"}],"stop":["ok","@@"]}""", "stop"),
            ("/v1/chat/completions", """{"model":"@@","messages":[{"role":"user","content":"hi"}]}""", "model"),
            ("/v1/chat/completions", """{"messages":[{"role":"@@","content":"hi"}]}""", "messages[0].role"),
            ("/v1/completions", """{"prompt":"@@"}""", "prompt"),
            ("/v1/completions", """{"prompt":["@@"]}""", "prompt"),
            ("/v1/completions", """{"prompt":"hi","stop":"@@"}""", "stop"),
            ("/v1/completions", """{"model":"@@","prompt":"hi"}""", "model"),
        ];
        foreach (var (path, template, param) in fields)
        {
            foreach (var stream in new[] { false, true })
                data.Add(path, template, param, stream);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Fields))]
    public async Task Invalid_text_gets_400_naming_the_field_and_counts_as_a_client_error(string path, string template, string param, bool stream)
    {
        var client = fixture.Server.Client;
        var logsBefore = fixture.Logs.Entries.Count;
        var before = await client.ScrapeAsync();

        foreach (var (name, bytes) in BadTexts)
        {
            using var response = await client.PostAsync(path, Body(template, bytes, stream));
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{path} {param} ({name}, stream {stream}): {(int)response.StatusCode} {text}");
            var error = System.Text.Json.Nodes.JsonNode.Parse(text)!["error"]!;
            Assert.Equal("invalid_request_error", (string?)error["type"]);
            Assert.Equal(param, (string?)error["param"]);
            Assert.Equal("invalid_value", (string?)error["code"]);
            Assert.Contains($"{param} is not valid text", (string?)error["message"]);
        }

        var after = await client.ScrapeAsync();
        double Delta(string outcome) =>
            MetricsText.Value(after, $"llm_requests_total{{{Model},outcome=\"{outcome}\"}}") - MetricsText.Value(before, $"llm_requests_total{{{Model},outcome=\"{outcome}\"}}");
        Assert.Equal(0, Delta("error"));
        Assert.Equal(BadTexts.Length, Delta("client_error"));
        var logged = fixture.Logs.Entries.Skip(logsBefore).Where(e => e.Exception is not null || e.Level >= LogLevel.Error).ToList();
        Assert.True(logged.Count == 0, string.Join("\n", logged.Select(e => $"{e.Level} {e.Category}: {e.Message} {e.Exception}")));
    }

    [Fact]
    public async Task The_same_fields_with_valid_text_still_work()
    {
        // The checks read the text, they do not reject what merely looks unusual: non-ASCII, a surrogate pair, NUL.
        using var chat = await fixture.Server.Client.PostAsync("/v1/chat/completions",
            Body("""{"messages":[{"role":"user","content":[{"type":"text","text":"@@"}]}],"stop":["@@"]}""", "h\u00e9 \\ud83d\\ude00 \\u0000 \u4f60"u8.ToArray(), false));
        Assert.Equal(HttpStatusCode.OK, chat.StatusCode);
        using var completion = await fixture.Server.Client.PostAsync("/v1/completions",
            Body("""{"prompt":"@@","stop":"@@"}""", "\\ud83d\\ude00 caf\u00e9"u8.ToArray(), true));
        Assert.Equal(HttpStatusCode.OK, completion.StatusCode);
        Assert.EndsWith("data: [DONE]", (await completion.Content.ReadAsStringAsync()).TrimEnd());
    }

    private static ByteArrayContent Body(string template, byte[] hole, bool stream)
    {
        var json = template.Insert(1, "\"max_tokens\":2,");
        if (stream) json = json.Insert(1, "\"stream\":true,");
        var body = new List<byte>();
        var pieces = json.Split(Hole);
        for (var i = 0; i < pieces.Length; i++)
        {
            if (i > 0) body.AddRange(hole);
            body.AddRange(Encoding.UTF8.GetBytes(pieces[i]));
        }
        var content = new ByteArrayContent([.. body]);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return content;
    }
}
