using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using LlmInfra.Bench;
using LlmInfra.DemoModel;
using LlmInfra.Runtime.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using LlmInfra.Engine;
using Microsoft.Extensions.Options;

// Usage: dotnet run --project runtime/bench -c Release [-- --json] [--max-tokens N] [--rounds N] [--c1]
var json = args.Contains("--json");
var maxTokens = IntArg("--max-tokens", 64);
var rounds = IntArg("--rounds", 2);
int[] levels = args.Contains("--c1") ? [1] : [1, 4, 8]; // --c1: quick check of the single-client overhead

// End-of-text out of reach: every request generates exactly max_tokens, so both sides do the same work.
var spec = DemoModelSpec.Benchmark with { EosLogitBias = -1000f };
Log($"Generating/reusing the benchmark model (hidden {spec.HiddenSize}, {spec.Layers} layers, vocab {spec.VocabSize})...");
var modelDir = DemoModelWriter.EnsureCached(spec, DemoModelWriter.DefaultCacheRoot());

var prompts = Enumerable.Range(0, 8).Select(i => $"Tell me story number {i} about a lighthouse keeper and the sea.").ToArray();

var serverRows = new Dictionary<int, Measurement>();
var rawRows = new Dictionary<int, Measurement>();
var settings = new Dictionary<string, string?>
{
    ["urls"] = "http://127.0.0.1:0",
    ["Runtime:Model"] = modelDir,
    ["Runtime:ModelName"] = "bench",
    ["Runtime:NoAuth"] = "true",
    ["Runtime:MaxTokensCap"] = "4096",
};
await using (var app = RuntimeApp.Create([], settings, b => b.Logging.SetMinimumLevel(LogLevel.Warning)))
{
    await app.StartAsync();
    var host = app.Services.GetRequiredService<ModelHost>();
    await host.Loaded;
    var options = app.Services.GetRequiredService<IOptions<RuntimeOptions>>().Value;
    var workers = ModelHost.Workers(options);
    Log($"server: max-concurrent {options.MaxConcurrent}, batch {options.MaxBatchSize}, {workers} workers, intra-op threads {ModelHost.IntraOpThreads(options)}");
    var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
    using var http = new HttpClient { BaseAddress = new Uri(address), Timeout = TimeSpan.FromMinutes(5) };

    // The raw loop runs on the very same loaded model (same ONNX Runtime session and settings), while the server is idle.
    var model = host.Scheduler!.Model;
    var batchSizes = new System.Collections.Concurrent.ConcurrentQueue<int>();
    if (host.Scheduler is GenerationScheduler cohorts) cohorts.BatchStarted += batchSizes.Enqueue;
    var rendered = prompts.Select(p => model.ApplyChatTemplate([new ChatMessage("user", p)])).ToArray();
    // Warm-up at full length: the first requests pay for JIT compilation of the HTTP, JSON and streaming paths
    // (about a quarter more CPU per token in the first block when this was 4 tokens); measure the steady state.
    for (var i = 0; i < 3; i++)
    {
        await ServerRequestAsync(http, prompts[i], maxTokens);
        RawLoop.Run(model, [rendered[i]], maxTokens, 1);
    }

    foreach (var c in levels)
    {
        // Server and raw alternate in blocks so background load on a shared machine hits both alike.
        var roundsHere = c == 1 ? rounds * 2 : rounds; // concurrency 1 has the fewest samples per round
        var server = new List<Measurement>();
        var raw = new List<Measurement>();
        var serverCpu = TimeSpan.Zero;
        var rawCpu = TimeSpan.Zero;
        for (var block = 0; block < 2; block++)
        {
            Log($"concurrency {c}, block {block + 1}/2: server...");
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            server.Add(await MeasureAsync(c, roundsHere, (client, round) => ServerRequestAsync(http, prompts[(client + round) % prompts.Length], maxTokens)));
            serverCpu += Process.GetCurrentProcess().TotalProcessorTime - cpu;
            Log($"concurrency {c}, block {block + 1}/2: raw...");
            var samples = new List<RequestSample>();
            cpu = Process.GetCurrentProcess().TotalProcessorTime;
            var sw = Stopwatch.StartNew();
            for (var r = 0; r < roundsHere; r++)
                samples.AddRange(RawLoop.Run(model, Enumerable.Range(0, c).Select(i => rendered[(i + r) % rendered.Length]).ToArray(), maxTokens, workers));
            raw.Add(new Measurement(samples, sw.Elapsed));
            rawCpu += Process.GetCurrentProcess().TotalProcessorTime - cpu;
        }
        // CPU time per token (this process: server, client and engine together) separates work the server adds
        // from time lost waiting for a core on a busy machine.
        var tokens = Measurement.Combine(server).Samples.Sum(x => x.Tokens);
        var rawTokens = Measurement.Combine(raw).Samples.Sum(x => x.Tokens);
        Log(string.Create(CultureInfo.InvariantCulture,
            $"concurrency {c}: CPU per token: server+client {serverCpu.TotalMilliseconds / tokens:F2} ms, raw {rawCpu.TotalMilliseconds / rawTokens:F2} ms"));
        serverRows[c] = Measurement.Combine(server);
        Log($"concurrency {c}: server batch sizes {string.Join(' ', batchSizes)}");
        batchSizes.Clear();
        rawRows[c] = Measurement.Combine(raw);
    }
    await app.StopAsync();
}

var rows = levels.Select(c =>
{
    var s = serverRows[c];
    var r = rawRows[c];
    return new JsonObject
    {
        ["concurrency"] = c,
        ["server_tokens_per_s"] = Round(s.TokensPerSecond),
        ["raw_tokens_per_s"] = Round(r.TokensPerSecond),
        ["ratio"] = Math.Round(s.TokensPerSecond / r.TokensPerSecond, 3),
        ["ttft_p50_ms"] = Round(s.Ttft(0.5)),
        ["ttft_p95_ms"] = Round(s.Ttft(0.95)),
        ["raw_ttft_p50_ms"] = Round(r.Ttft(0.5)),
        ["itl_p50_ms"] = Round(s.ItlP50),
    };
}).ToList();

if (json)
{
    Console.WriteLine(new JsonObject { ["rows"] = new JsonArray([.. rows]) }.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
}
else
{
    Console.WriteLine($"model: hidden {spec.HiddenSize}, {spec.Layers} layers, vocab {spec.VocabSize}; {maxTokens} tokens per request; 2 blocks of {rounds} rounds per client ({rounds * 2} at concurrency 1); {Environment.ProcessorCount} cores");
    Console.WriteLine($"{"conc",4} {"server tok/s",13} {"raw tok/s",10} {"ratio",6} {"ttft p50 ms",12} {"ttft p95 ms",12} {"raw ttft p50",13} {"itl p50 ms",11}");
    foreach (var row in rows)
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{(int)row["concurrency"]!,4} {(double)row["server_tokens_per_s"]!,13:F1} {(double)row["raw_tokens_per_s"]!,10:F1} {(double)row["ratio"]!,6:F3} {(double)row["ttft_p50_ms"]!,12:F1} {(double)row["ttft_p95_ms"]!,12:F1} {(double)row["raw_ttft_p50_ms"]!,13:F1} {(double)row["itl_p50_ms"]!,11:F2}"));
    }
    var c1 = serverRows[1].TokensPerSecond;
    if (levels.Length > 1)
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"targets: c1 ratio {(double)rows[0]["ratio"]!:F3} (>= 0.90), c1 added ttft {(double)rows[0]["ttft_p50_ms"]! - (double)rows[0]["raw_ttft_p50_ms"]!:F1} ms (<= 5), c4/c1 tokens/s {serverRows[4].TokensPerSecond / c1:F2}x (>= 1.5)"));
}
return 0;

static async Task<Measurement> MeasureAsync(int concurrency, int rounds, Func<int, int, Task<RequestSample>> request)
{
    var samples = new List<RequestSample>();
    var sw = Stopwatch.StartNew();
    var clients = Enumerable.Range(0, concurrency).Select(async client =>
    {
        var mine = new List<RequestSample>();
        for (var round = 0; round < rounds; round++) mine.Add(await request(client, round));
        return mine;
    });
    foreach (var list in await Task.WhenAll(clients)) samples.AddRange(list);
    return new Measurement(samples, sw.Elapsed);
}

static async Task<RequestSample> ServerRequestAsync(HttpClient http, string prompt, int tokens)
{
    var body = new
    {
        model = "bench",
        messages = new[] { new { role = "user", content = prompt } },
        max_tokens = tokens,
        temperature = 0,
        stream = true,
        stream_options = new { include_usage = true },
    };
    var start = Stopwatch.GetTimestamp();
    using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = JsonContent.Create(body) };
    using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    response.EnsureSuccessStatusCode();
    using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
    var arrivals = new List<long>();
    var completion = 0;
    while (await reader.ReadLineAsync() is { } line)
    {
        if (!line.StartsWith("data: ", StringComparison.Ordinal) || line == "data: [DONE]") continue;
        var chunk = JsonNode.Parse(line[6..])!;
        if (chunk["usage"] is { } usage) completion = (int)usage["completion_tokens"]!;
        else if (chunk["choices"]![0]!["delta"]!["content"] is { } content && ((string?)content)?.Length > 0) arrivals.Add(Stopwatch.GetTimestamp());
    }
    return RequestSample.From(start, arrivals, completion);
}

int IntArg(string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
}

static double Round(double v) => Math.Round(v, 2);

static void Log(string message) => Console.Error.WriteLine(message);
