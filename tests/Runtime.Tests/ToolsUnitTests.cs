using System.Text.Json;
using System.Text.Json.Nodes;
using LlmInfra.Engine;
using LlmInfra.Runtime.Api;
using LlmInfra.Runtime.Api.Structured;
using LlmInfra.Runtime.Api.Tools;

namespace LlmInfra.Runtime.Tests;

/// <summary>Request parsing, grammar construction and tool-call parsing, without a server.</summary>
public sealed class ToolsUnitTests
{
    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement.Clone();

    private static ToolSet Tools(string choice = "\"auto\"", bool parallel = true) => ToolRequest.Parse(
        Json("""[{"type":"function","function":{"name":"a","parameters":{"type":"object","properties":{"x":{"type":"integer"}}}}},{"type":"function","function":{"name":"b"}}]"""),
        Json(choice), Json(parallel ? "true" : "false"))!;

    [Fact]
    public void Tool_choice_modes_and_callable_functions()
    {
        Assert.Equal(ToolChoiceMode.Auto, Tools().Mode);
        Assert.Equal(["a", "b"], Tools("\"required\"").Callable.Select(f => f.Name));
        Assert.Empty(Tools("\"none\"").Callable);
        var named = Tools("""{"type":"function","function":{"name":"b"}}""");
        Assert.Equal(ToolChoiceMode.Named, named.Mode);
        Assert.Equal(["b"], named.Callable.Select(f => f.Name));
        // A function without parameters takes an empty object.
        Assert.Equal(false, (bool?)named.Callable[0].Parameters["additionalProperties"]);
        Assert.Null(ToolRequest.Parse(null, Json("\"none\""), null));
    }

    [Fact]
    public void Grammar_offers_text_or_calls_under_auto_and_only_calls_otherwise()
    {
        var (auto, field) = ReplyGuidance.Build(ResponseFormatSpec.Text, Tools());
        Assert.Equal(GuidanceKind.LarkGrammar, auto!.Kind);
        Assert.Equal("tools", field);
        Assert.StartsWith("start: reply | calls\n", auto.Data);
        Assert.Contains("calls: \"[\" call (\",\" call)* \"]\"", auto.Data);
        Assert.Contains("fn_0: \"{\\\"name\\\":\\\"a\\\",\\\"arguments\\\":\" args_0 \"}\"", auto.Data);

        var (required, _) = ReplyGuidance.Build(ResponseFormatSpec.Text, Tools("\"required\"", parallel: false));
        Assert.StartsWith("start: calls\n", required!.Data);
        Assert.Contains("calls: \"[\" call \"]\"", required.Data);

        // Under auto with a schema for the reply, the reply alternative is that schema.
        var schema = ResponseFormatRequest.Parse(Json("""{"type":"json_schema","json_schema":{"name":"r","schema":{"type":"object"}}}"""));
        Assert.Contains("reply: %json {", ReplyGuidance.Build(schema, Tools()).Guidance!.Data);

        Assert.Equal((null, null), ReplyGuidance.Build(ResponseFormatSpec.Text, Tools("\"none\"")));
        Assert.Equal((null, null), ReplyGuidance.Build(ResponseFormatSpec.Text, null));
    }

    [Fact]
    public void Schema_reply_gets_compact_layout_unless_the_client_set_its_own()
    {
        var spec = ResponseFormatRequest.Parse(Json("""{"type":"json_schema","json_schema":{"name":"r","strict":true,"schema":{"type":"object"}}}"""));
        var (guidance, field) = ReplyGuidance.Build(spec, null);
        Assert.Equal("response_format", field);
        Assert.Equal(GuidanceKind.JsonSchema, guidance!.Kind);
        Assert.Equal(false, (bool?)JsonNode.Parse(guidance.Data)!["x-guidance"]!["whitespace_flexible"]);
        var own = ReplyGuidance.Prepared(new JsonObject { ["x-guidance"] = new JsonObject { ["whitespace_flexible"] = true } });
        Assert.Equal(true, (bool?)own["x-guidance"]!["whitespace_flexible"]);
        Assert.Equal(ReplyKind.JsonObject, ResponseFormatRequest.Parse(Json("""{"type":"json_object"}""")).Kind);
        Assert.Same(ResponseFormatSpec.Text, ResponseFormatRequest.Parse(Json("""{"type":"text"}""")));
    }

    [Fact]
    public void Stream_parser_splits_calls_and_streams_arguments()
    {
        const string reply = """[{"name":"a","arguments":{"x":1,"s":"}]\"{"}},{"name":"b","arguments":{}}]""";
        // Any split into pieces gives the same calls and argument text.
        foreach (var size in new[] { 1, 2, 5, reply.Length })
        {
            var stream = new ToolCallStream(toolsOnly: false);
            var deltas = new List<ReplyDelta>();
            for (var i = 0; i < reply.Length; i += size)
                deltas.AddRange(stream.Append(reply.Substring(i, Math.Min(size, reply.Length - i))));
            Assert.True(stream.Complete);
            Assert.Equal(["a", "b"], stream.Calls.Select(c => c.Function.Name));
            Assert.Equal("""{"x":1,"s":"}]\"{"}""", stream.Calls[0].Function.Arguments);
            Assert.Equal("{}", stream.Calls[1].Function.Arguments);
            Assert.All(deltas, d => Assert.Null(d.Text));
            var heads = deltas.Where(d => d.ToolCall!.Id is not null).ToList();
            Assert.Equal([0, 1], heads.Select(d => d.ToolCall!.Index));
            Assert.Equal(stream.Calls.Select(c => c.Id), heads.Select(d => d.ToolCall!.Id));
            for (var k = 0; k < 2; k++)
                Assert.Equal(stream.Calls[k].Function.Arguments, string.Concat(deltas.Where(d => d.ToolCall!.Index == k).Select(d => d.ToolCall!.Function.Arguments)));
        }
    }

    [Fact]
    public void Stream_parser_passes_text_through_and_flags_cut_calls()
    {
        var text = new ToolCallStream(toolsOnly: false);
        Assert.Equal("Hi [1]", string.Concat(text.Append("Hi ").Concat(text.Append("[1]")).Select(d => d.Text)));
        Assert.False(text.IsToolCalls);

        var cut = new ToolCallStream(toolsOnly: true);
        cut.Append("""[{"name":"a","arguments":{"x":""");
        Assert.True(cut.IsToolCalls);
        Assert.False(cut.Complete);
        Assert.Empty(cut.Calls);
    }

    [Fact]
    public void Seeded_choices_get_consecutive_seeds()
    {
        var request = new ValidatedRequest(new SamplingOptions { Seed = 5, Temperature = 1 }, false, false, 3);
        Assert.Equal([5L, 6L, 7L], request.ChoiceSampling().Select(s => s.Seed!.Value));
        var unseeded = new ValidatedRequest(new SamplingOptions(), false, false, 2);
        Assert.All(unseeded.ChoiceSampling(), s => Assert.Null(s.Seed));
    }
}
