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

// Usage: dotnet run --project runtime/bench -c Release [-- --json] [--max-tokens N] [--rounds N] [--c1 | --levels 1,4] [--plain]
//        [--threads N] [--prompt-repeat N]
// Default: the paged bench model, served by GenAI's engine (dynamic batching); --plain: the plain model on the
// cohort scheduler for the concurrency rows. The staggered scenario runs on both; the prefix scenario on the engine.
var json = args.Contains("--json");
var maxTokens = IntArg("--max-tokens", 64);
var rounds = IntArg("--rounds", 2);
var threads = IntArg("--threads", 0); // ONNX Runtime intra-op threads; 0 = the server's automatic choice
var promptRepeat = IntArg("--prompt-repeat", 1); // the prompt's sentence this many times: longer prompts, same shape
var plainRows = args.Contains("--plain");
// --c1: quick check of the single-client overhead; --levels 1,4: the concurrency rows to measure.
int[] levels = args.Contains("--c1") ? [1]
    : Array.IndexOf(args, "--levels") is var li and >= 0 && li + 1 < args.Length
        ? args[li + 1].Split(',').Select(x => int.Parse(x, CultureInfo.InvariantCulture)).ToArray()
        : [1, 4, 16];
var loadBefore = LoadAverage();

// End-of-text out of reach: every request generates exactly max_tokens, so both sides do the same work.
var plainSpec = DemoModelSpec.Benchmark with { EosLogitBias = -1000f };
// 1024 blocks of 16 = 16k KV slots: 16 requests of a 1k-token prompt plus output fit at once.
var pagedSpec = plainSpec.WithPagedCache(numBlocks: 1024, maxBatchSize: 16, maxScheduledTokens: 512);
var spec = plainRows ? plainSpec : pagedSpec;
Log($"Generating/reusing the benchmark models (hidden {spec.HiddenSize}, {spec.Layers} layers, vocab {spec.VocabSize}; plain and paged)...");
var modelDir = DemoModelWriter.EnsureCached(spec, DemoModelWriter.DefaultCacheRoot());
var plainDir = DemoModelWriter.EnsureCached(plainSpec, DemoModelWriter.DefaultCacheRoot());
var pagedDir = DemoModelWriter.EnsureCached(pagedSpec, DemoModelWriter.DefaultCacheRoot());

// Every request gets a prompt no earlier request used (its number leads), so no row is flattered by prefix-cache hits
// the other side does not get; the prefix scenario measures the cache on its own.
var promptCount = 0;
string NextPrompt()
{
    var n = Interlocked.Increment(ref promptCount);
    return $"Request {n}: " + string.Concat(Enumerable.Repeat($"tell me story number {n % 8} about a lighthouse keeper and the sea. ", promptRepeat)).TrimEnd();
}

var serverRows = new Dictionary<int, Measurement>();
const int StaggeredTrials = 3;
var promptTokenCounts = new System.Collections.Concurrent.ConcurrentQueue<int>(); // usage.prompt_tokens of each server request
Measurement? rawStaggered = null; // the staggered arrivals on the in-process engine (paged model only)
var rawRows = new Dictionary<int, Measurement>();
var settings = new Dictionary<string, string?>
{
    ["urls"] = "http://127.0.0.1:0",
    ["Runtime:Model"] = modelDir,
    ["Runtime:ModelName"] = "bench",
    ["Runtime:NoAuth"] = "true",
    ["Runtime:MaxTokensCap"] = "4096",
    ["Runtime:MaxConcurrent"] = "16",
    ["Logging:LogLevel:Default"] = "Warning", // the access log would otherwise mix with --json on stdout
    // Warnings that remain (an unverified bench model has no manifest) go to stderr: stdout is the --json document.
    ["Logging:Console:LogToStandardErrorThreshold"] = "Trace",
    ["Runtime:MaxBatchSize"] = "16",
    ["Runtime:IntraOpThreads"] = threads.ToString(CultureInfo.InvariantCulture),
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
    string Rendered(string prompt) => model.ApplyChatTemplate([new ChatMessage("user", prompt)]);
    Log($"prompt: {model.Encode(Rendered(NextPrompt())).Length} tokens after the chat template");
    // The in-process baseline of the same backend: the engine's raw loop for paged models, batched generators otherwise.
    using var engineRaw = host.Scheduler is EngineBackend ? new EngineRawLoop(model) : null;
    List<RequestSample> Raw(string[] batch) => engineRaw is not null
        ? engineRaw.Run(batch, maxTokens)
        : RawLoop.Run(model, batch, maxTokens, workers);
    // Warm-up at full length: the first requests pay for JIT compilation of the HTTP, JSON and streaming paths
    // (about a quarter more CPU per token in the first block when this was 4 tokens); measure the steady state.
    for (var i = 0; i < 3; i++)
    {
        await ServerRequestAsync(http, NextPrompt(), maxTokens);
        Raw([Rendered(NextPrompt())]);
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
            server.Add(await MeasureAsync(c, roundsHere, (client, round) => ServerRequestAsync(http, NextPrompt(), maxTokens)));
            serverCpu += Process.GetCurrentProcess().TotalProcessorTime - cpu;
            Log($"concurrency {c}, block {block + 1}/2: raw...");
            var samples = new List<RequestSample>();
            cpu = Process.GetCurrentProcess().TotalProcessorTime;
            var sw = Stopwatch.StartNew();
            for (var r = 0; r < roundsHere; r++)
                samples.AddRange(Raw(Enumerable.Range(0, c).Select(_ => Rendered(NextPrompt())).ToArray()));
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
    if (engineRaw is not null)
    {
        // The same 16 staggered arrivals without HTTP: what the engine's own scheduling gives a newcomer.
        Log("staggered: 16 requests 100 ms apart on the in-process engine...");
        rawStaggered = Measurement.Combine(Enumerable.Range(0, StaggeredTrials).Select(_ =>
            engineRaw.RunStaggered(Enumerable.Range(0, 16).Select(_ => Rendered(NextPrompt())).ToArray(), TimeSpan.FromMilliseconds(100), maxTokens)).ToList());
    }
    await app.StopAsync();
}

// Mean prompt length of the concurrency rows (the request number's digits move it by a token or two); the prefix
// scenario's long prompts come later and are not counted.
var rowPromptTokens = (int)Math.Round(promptTokenCounts.Average());

// 16 requests arriving 100 ms apart (how real traffic arrives), on the engine (paged) and the scheduler (plain).
var staggered = await WithServerAsync(pagedDir, http => StaggeredAsync(http));
var staggeredScheduler = await WithServerAsync(plainDir, http => StaggeredAsync(http));
// A shared ~1k-token prefix: time to first token with the prefix new to the cache (cold), then cached (warm).
var prefix = await WithServerAsync(pagedDir, http => PrefixAsync(http));
var loadAfter = LoadAverage();

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

var staggeredJson = new JsonObject
{
    ["tokens_per_s"] = Round(staggered.TokensPerSecond),
    ["ttft_p50_ms"] = Round(staggered.Ttft(0.5)),
    ["ttft_max_ms"] = Round(staggered.Ttft(1.0)),
    ["scheduler_tokens_per_s"] = Round(staggeredScheduler.TokensPerSecond),
    ["scheduler_ttft_p50_ms"] = Round(staggeredScheduler.Ttft(0.5)),
};
if (rawStaggered is not null)
{
    staggeredJson["raw_tokens_per_s"] = Round(rawStaggered.TokensPerSecond);
    staggeredJson["raw_ttft_p50_ms"] = Round(rawStaggered.Ttft(0.5));
}
var prefixJson = new JsonObject
{
    ["prefix_tokens"] = prefix.PrefixTokens,
    ["cold_ttft_p50_ms"] = Round(prefix.Cold.Ttft(0.5)),
    ["warm_ttft_p50_ms"] = Round(prefix.Warm.Ttft(0.5)),
};
var loadJson = new JsonObject { ["before"] = loadBefore, ["after"] = loadAfter, ["cores"] = Environment.ProcessorCount };
if (json)
{
    Console.WriteLine(new JsonObject
    {
        ["backend"] = plainRows ? "scheduler" : "engine",
        ["prompt_tokens"] = rowPromptTokens,
        ["rows"] = new JsonArray([.. rows]),
        ["staggered"] = staggeredJson,
        ["prefix"] = prefixJson,
        ["load_average"] = loadJson,
    }.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
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
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"staggered (16 arriving 100 ms apart): engine {staggered.TokensPerSecond:F1} tok/s, ttft p50 {staggered.Ttft(0.5):F1} ms (max {staggered.Ttft(1.0):F1}); scheduler on the plain model {staggeredScheduler.TokensPerSecond:F1} tok/s, ttft p50 {staggeredScheduler.Ttft(0.5):F1} ms"));
    if (rawStaggered is not null)
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"staggered on the in-process engine (no HTTP): {rawStaggered.TokensPerSecond:F1} tok/s, ttft p50 {rawStaggered.Ttft(0.5):F1} ms"));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"prefix ({prefix.PrefixTokens} shared tokens): ttft p50 cold {prefix.Cold.Ttft(0.5):F1} ms, warm {prefix.Warm.Ttft(0.5):F1} ms"));
    Console.WriteLine($"load average before {loadBefore}, after {loadAfter} ({Environment.ProcessorCount} cores)");
    if (serverRows.ContainsKey(1) && serverRows.ContainsKey(16))
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"targets: ratio >= 0.95 at every level ({string.Join(", ", rows.Select(r => $"c{r["concurrency"]} {(double)r["ratio"]!:F3}"))}); c16/c1 tokens/s {serverRows[16].TokensPerSecond / serverRows[1].TokensPerSecond:F2}x (>= 3.5); " +
        $"staggered ttft p50 / c1 ttft {staggered.Ttft(0.5) / serverRows[1].Ttft(0.5):F2} (<= 1.5), staggered engine / scheduler tokens/s {staggered.TokensPerSecond / staggeredScheduler.TokensPerSecond:F2}x (>= 2); " +
        $"prefix cold / warm ttft {prefix.Cold.Ttft(0.5) / prefix.Warm.Ttft(0.5):F1}x (>= 5)"));
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

async Task<RequestSample> ServerRequestAsync(HttpClient http, string prompt, int tokens)
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
        // JsonDocument (pooled) rather than JsonNode: the client shares the machine with the server it measures.
        using var chunk = JsonDocument.Parse(line.AsMemory(6));
        var root = chunk.RootElement;
        if (root.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object)
        {
            completion = usage.GetProperty("completion_tokens").GetInt32();
            promptTokenCounts.Enqueue(usage.GetProperty("prompt_tokens").GetInt32());
        }
        else if (root.GetProperty("choices")[0].GetProperty("delta").TryGetProperty("content", out var content)
                 && content.ValueKind == JsonValueKind.String && content.GetString()!.Length > 0)
            arrivals.Add(Stopwatch.GetTimestamp());
    }
    return RequestSample.From(start, arrivals, completion);
}

async Task<T> WithServerAsync<T>(string dir, Func<HttpClient, Task<T>> run)
{
    var serverSettings = new Dictionary<string, string?>(settings) { ["Runtime:Model"] = dir };
    await using var app = RuntimeApp.Create([], serverSettings, b => b.Logging.SetMinimumLevel(LogLevel.Warning));
    await app.StartAsync();
    await app.Services.GetRequiredService<ModelHost>().Loaded;
    var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
    using var http = new HttpClient { BaseAddress = new Uri(address), Timeout = TimeSpan.FromMinutes(5) };
    await ServerRequestAsync(http, NextPrompt(), maxTokens); // warm-up
    var result = await run(http);
    await app.StopAsync();
    return result;
}

async Task<Measurement> StaggeredAsync(HttpClient http)
{
    // Three trials, pooled: one trial is 16 samples, and one slow moment on a shared machine moves its median.
    var trials = new List<Measurement>();
    for (var trial = 0; trial < StaggeredTrials; trial++)
    {
        Log($"staggered: 16 requests 100 ms apart, trial {trial + 1}/{StaggeredTrials}...");
        var sw = Stopwatch.StartNew();
        var requests = new List<Task<RequestSample>>();
        for (var i = 0; i < 16; i++)
        {
            requests.Add(ServerRequestAsync(http, NextPrompt(), maxTokens));
            // On a fixed schedule (as the in-process run): delays that each overshoot would spread the arrivals.
            var next = TimeSpan.FromMilliseconds(100 * (i + 1)) - sw.Elapsed;
            if (next > TimeSpan.Zero) await Task.Delay(next);
        }
        var samples = await Task.WhenAll(requests);
        trials.Add(new Measurement(samples, sw.Elapsed));
    }
    return Measurement.Combine(trials);
}

async Task<(int PrefixTokens, Measurement Cold, Measurement Warm)> PrefixAsync(HttpClient http)
{
    Log("prefix: cold and warm time to first token with a shared ~1k-token prefix...");
    var cold = new List<RequestSample>();
    var warm = new List<RequestSample>();
    for (var trial = 0; trial < 3; trial++)
    {
        // A prefix no earlier request used (the trial number leads), then the same prefix with another question.
        var shared = $"Context {trial}: " + string.Concat(Enumerable.Repeat("The lighthouse keeper logs the weather, the ships and the tides every hour. ", 25));
        cold.Add(await ServerRequestAsync(http, shared + "Question A?", 4));
        warm.Add(await ServerRequestAsync(http, shared + "Question B?", 4));
    }
    using var tokenizerModel = LlmModel.Load(new EngineOptions { ModelPath = pagedDir });
    var tokens = tokenizerModel.Encode("Context 0: " + string.Concat(Enumerable.Repeat("The lighthouse keeper logs the weather, the ships and the tides every hour. ", 25))).Length;
    return (tokens, new Measurement(cold, TimeSpan.Zero), new Measurement(warm, TimeSpan.Zero));
}

static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

int IntArg(string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
}

static double Round(double v) => Math.Round(v, 2);

static void Log(string message) => Console.Error.WriteLine(message);
