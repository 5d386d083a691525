using System.Text.Json;
using System.Text.Json.Nodes;
using LlmInfra.Engine;
using LlmInfra.Runtime.Api.Structured;
using LlmInfra.Runtime.Api.Tools;
using LlmInfra.Runtime.Tests.Infrastructure;

namespace LlmInfra.Runtime.Tests;

/// <summary>The scheduler honours guidance, n-at-once admission and tool messages in the chat template.</summary>
public sealed class GuidanceEngineTests : IClassFixture<GuidanceEngineTests.TinyModel>
{
    private const string Schema = """
        {"type":"object","properties":{"color":{"enum":["red","green","blue"]},"size":{"type":"integer","minimum":0,"maximum":99},
         "tags":{"type":"array","items":{"type":"string","maxLength":6},"maxItems":3}},
         "required":["color","size","tags"],"additionalProperties":false,"x-guidance":{"whitespace_flexible":false}}
        """;

    private static readonly SamplingOptions Guided = new()
    {
        Temperature = 0, MaxTokens = 120, Guidance = new Guidance(GuidanceKind.JsonSchema, Schema),
    };

    private readonly LlmModel _model;

    public GuidanceEngineTests(TinyModel fixture) => _model = fixture.Model;

    public sealed class TinyModel : IDisposable
    {
        public LlmModel Model { get; } = LlmModel.Load(new EngineOptions { ModelPath = Models.Tiny });

        public void Dispose() => Model.Dispose();
    }

    private static void AssertValid(string text)
    {
        var json = JsonNode.Parse(text)!.AsObject();
        Assert.Equal(["color", "size", "tags"], json.Select(p => p.Key));
        Assert.Contains((string?)json["color"], new[] { "red", "green", "blue" });
        Assert.InRange((int)json["size"]!, 0, 99);
        Assert.InRange(json["tags"]!.AsArray().Count, 0, 3);
        Assert.All(json["tags"]!.AsArray(), t => Assert.InRange(((string)t!).Length, 0, 6));
    }

    [Fact]
    public async Task Guided_generation_follows_the_schema_alone_and_batched()
    {
        using var scheduler = new GenerationScheduler(_model, new SchedulerOptions { MaxConcurrent = 4, MaxBatchSize = 4, BatchWindow = TimeSpan.FromMilliseconds(200) });
        var alone = await scheduler.GenerateAsync("<|user|>\nA\n<|assistant|>\n", Guided);
        Assert.Equal(FinishReason.Stop, alone.FinishReason); // the grammar ends the reply, though this model never emits end-of-text
        AssertValid(alone.Text);

        string[] prompts = ["one", "second prompt", "3", "the fourth"];
        var sampled = Guided with { Temperature = 1.0 };
        var results = await Task.WhenAll(prompts.Select(p => scheduler.GenerateAsync(p, sampled)));
        Assert.All(results, r => AssertValid(r.Text));
    }

    [Fact]
    public async Task A_grammar_the_native_side_refuses_faults_with_its_message()
    {
        using var scheduler = new GenerationScheduler(_model, new SchedulerOptions());
        var generation = scheduler.Submit("x", Guided with { Guidance = new Guidance(GuidanceKind.JsonSchema, """{"type":"wizard"}""") });
        var ex = await Assert.ThrowsAsync<GuidanceRejectedException>(() => generation.Completion);
        Assert.Contains("wizard", ex.Message);
        await Assert.ThrowsAsync<GuidanceRejectedException>(async () => await generation.Text.Completion);
        // The scheduler keeps serving.
        Assert.Equal(FinishReason.Length, (await scheduler.GenerateAsync("y", new SamplingOptions { Temperature = 0, MaxTokens = 4 })).FinishReason);
    }

    [Fact]
    public async Task Tool_grammar_with_several_functions_compiles_and_yields_calls_the_parser_reads()
    {
        var tools = ToolRequest.Parse(JsonDocument.Parse("""
            [{"type":"function","function":{"name":"a","parameters":{"type":"object","properties":{"n":{"type":"integer","minimum":0,"maximum":9}},"required":["n"],"additionalProperties":false}}},
             {"type":"function","function":{"name":"b_2","parameters":{"$defs":{"c":{"enum":["x","y"]}},"type":"object","properties":{"c":{"$ref":"#/$defs/c"}},"required":["c"],"additionalProperties":false}}},
             {"type":"function","function":{"name":"c-3"}}]
            """).RootElement, JsonDocument.Parse("\"required\"").RootElement, null)!;
        var (guidance, _) = ReplyGuidance.Build(ResponseFormatSpec.Text, tools);
        using var scheduler = new GenerationScheduler(_model, new SchedulerOptions());
        var result = await scheduler.GenerateAsync("<|user|>\ncall\n<|assistant|>\n", new SamplingOptions { Temperature = 1, Seed = 3, MaxTokens = 200, Guidance = guidance });

        var stream = new ToolCallStream(toolsOnly: true);
        stream.Append(result.Text);
        Assert.True(stream.IsToolCalls);
        // Parallel calls may run on to max_tokens with random weights; every call that closed is well formed.
        Assert.Equal(result.FinishReason == FinishReason.Stop, stream.Complete);
        Assert.NotEmpty(stream.Calls);
        Assert.All(stream.Calls, c =>
        {
            Assert.Contains(c.Function.Name, new[] { "a", "b_2", "c-3" });
            Assert.IsType<JsonObject>(JsonNode.Parse(c.Function.Arguments));
        });
    }

    [Fact]
    public async Task SubmitAll_is_all_or_nothing()
    {
        using var scheduler = new GenerationScheduler(_model, new SchedulerOptions { MaxConcurrent = 1, MaxBatchSize = 1, MaxQueue = 2 });
        var greedy = new SamplingOptions { Temperature = 0, MaxTokens = 4 };
        Assert.Throws<QueueFullException>(() => scheduler.SubmitAll("x", [greedy, greedy, greedy, greedy]));
        Assert.Equal(0, scheduler.Waiting + scheduler.Running);
        var three = scheduler.SubmitAll("x", [greedy, greedy, greedy]);
        var results = await Task.WhenAll(three.Select(g => g.Completion));
        Assert.All(results, r => Assert.Equal(results[0].Text, r.Text));
    }

    [Fact]
    public void Chat_template_renders_tools_tool_calls_and_tool_results()
    {
        var messages = new[]
        {
            new ChatMessage("user", "Weather?"),
            new ChatMessage("assistant", "") { ToolCalls = [new ChatToolCall("call_1", "get_weather", """{"city":"Paris"}""")] },
            new ChatMessage("tool", "sunny") { ToolCallId = "call_1" },
        };
        var prompt = _model.ApplyChatTemplate(messages, """[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}]""");
        Assert.StartsWith("<|system|>\nTo call tools", prompt);
        Assert.Contains("\"name\": \"get_weather\"", prompt);
        Assert.Contains("<|assistant|>\n[{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}]<|end|>\n", prompt);
        Assert.Contains("<|tool|>\n[call_1] sunny<|end|>\n", prompt);
        Assert.EndsWith("<|assistant|>\n", prompt);
    }
}
