using LlmInfra.Runtime.Tests.Infrastructure;
using LlmInfra.Smoke;

namespace LlmInfra.Runtime.Tests;

/// <summary>The post-deploy smoke check (runtime/Smoke) against a real runtime on 127.0.0.1.</summary>
[Collection(SharedServerCollection.Name)]
public sealed class SmokeTests(SharedServerFixture fixture) : IDisposable
{
    private readonly string _keyFile = WriteKeyFile(RuntimeServer.ApiKey);

    private static string WriteKeyFile(string key)
    {
        var path = Path.Combine(Path.GetTempPath(), $"smoke-key-{Guid.NewGuid():N}.txt");
        File.WriteAllText(path, $"# deployment key\n{key}\n");
        return path;
    }

    public void Dispose() => File.Delete(_keyFile);

    private static async Task<(int Code, string Out, string Err)> Run(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await SmokeCommand.RunAsync(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task Passes_against_a_healthy_runtime_and_reports_time_to_first_token()
    {
        var (code, output, error) = await Run("--url", fixture.Server.BaseAddress.ToString(), "--api-keys-file", _keyFile);

        Assert.True(code == 0, error);
        foreach (var step in new[] { "readyz", "models", "chat", "stream" })
            Assert.Matches($"PASS  {step}", output);
        Assert.Contains("serving tiny", output);
        Assert.Matches(@"smoke check passed: 4 steps against .*, time to first token \d+ ms", output);
    }

    [Fact]
    public async Task Takes_the_servers_spelling_of_the_key_file_option_and_still_the_old_one()
    {
        // The server reads --api-keys-file; scripts written for the smoke tool's former --api-key-file keep working.
        foreach (var option in new[] { "--api-keys-file", "--api-key-file" })
        {
            var (code, _, error) = await Run("--url", fixture.Server.BaseAddress.ToString(), option, _keyFile);
            Assert.True(code == 0, $"{option}: {error}");
        }
    }

    [Fact]
    public async Task Reads_the_key_of_an_entry_in_the_servers_key_file_format()
    {
        var entries = Path.Combine(Path.GetTempPath(), $"smoke-key-{Guid.NewGuid():N}.txt");
        try
        {
            File.WriteAllText(entries, $"# tenants\nid=smoke key={RuntimeServer.ApiKey} rpm=600 models={RuntimeServer.ModelName}\nsk-other-key\n");
            var (code, _, error) = await Run("--url", fixture.Server.BaseAddress.ToString(), "--api-keys-file", entries);
            Assert.True(code == 0, error);
        }
        finally
        {
            File.Delete(entries);
        }
    }

    [Fact]
    public async Task A_refused_key_fails_at_the_first_authenticated_step()
    {
        var wrong = WriteKeyFile("sk-not-a-key");
        try
        {
            var (code, _, error) = await Run("--url", fixture.Server.BaseAddress.ToString(), "--api-keys-file", wrong);

            Assert.Equal(1, code);
            Assert.Contains("PASS  readyz", error);
            Assert.Contains("FAIL  models", error);
            Assert.Contains("smoke check FAILED at 'models'", error);
            Assert.Contains("HTTP 401: the API key was refused", error);
            Assert.DoesNotContain("chat", error);
        }
        finally
        {
            File.Delete(wrong);
        }
    }

    [Fact]
    public async Task A_model_that_is_not_served_is_named()
    {
        var (code, _, error) = await Run("--url", fixture.Server.BaseAddress.ToString(), "--api-keys-file", _keyFile, "--model", "gpt-9");

        Assert.Equal(1, code);
        Assert.Contains("model 'gpt-9' is not served; /v1/models lists: tiny", error);
    }

    [Fact]
    public async Task Time_to_first_token_over_the_threshold_fails_the_stream_step()
    {
        var options = new SmokeOptions
        {
            BaseUrl = fixture.Server.BaseAddress,
            ApiKey = RuntimeServer.ApiKey,
            MaxTimeToFirstToken = TimeSpan.FromTicks(1), // no real stream can meet 100 ns
        };

        var report = await new SmokeCheck(options).RunAsync();

        Assert.False(report.Passed);
        var stream = Assert.Single(report.Steps, s => s.Name == "stream");
        Assert.False(stream.Passed);
        Assert.Matches(@"time to first token \d+ ms exceeds the limit of 0 ms", stream.Detail);
        Assert.NotNull(report.TimeToFirstToken);
    }

    [Fact]
    public async Task An_unreachable_service_fails_at_readyz_and_stops_there()
    {
        var report = await new SmokeCheck(new SmokeOptions
        {
            BaseUrl = new Uri("http://127.0.0.1:9"), // discard port: nothing listens
            ApiKey = "k",
            StepTimeout = TimeSpan.FromSeconds(10),
        }).RunAsync();

        var step = Assert.Single(report.Steps);
        Assert.Equal("readyz", step.Name);
        Assert.False(step.Passed);
        Assert.Contains("cannot reach http://127.0.0.1:9/", step.Detail);
    }

    [Theory]
    [InlineData(new string[0], "--url")]
    [InlineData(new[] { "--url", "http://127.0.0.1:1" }, "--api-keys-file is required")]
    [InlineData(new[] { "--url", "http://127.0.0.1:1", "--api-keys-file", "/nonexistent/key" }, "does not exist")]
    [InlineData(new[] { "--url", "ftp://host", "--no-auth" }, "--url must be an absolute http(s) URL")]
    [InlineData(new[] { "--url", "http://127.0.0.1:1", "--no-auth", "--max-ttft-ms", "0" }, "--max-ttft-ms must be > 0")]
    public async Task Bad_usage_exits_2_and_names_the_option(string[] args, string expected)
    {
        var (code, _, error) = await Run(args);

        Assert.Equal(2, code);
        Assert.Contains(expected, error);
    }
}

/// <summary>A draining runtime is not ready: the check stops at readyz. Own server, since draining is final.</summary>
public sealed class SmokeAgainstDrainingRuntimeTests
{
    [Fact]
    public async Task A_draining_runtime_fails_readiness()
    {
        await using var server = await RuntimeServer.StartAsync();
        await server.Host.StoppingAsync(CancellationToken.None);

        var report = await new SmokeCheck(new SmokeOptions { BaseUrl = server.BaseAddress, ApiKey = RuntimeServer.ApiKey }).RunAsync();

        var step = Assert.Single(report.Steps);
        Assert.False(step.Passed);
        Assert.Contains("GET /readyz returned 503", step.Detail);
    }
}
