using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using LlmInfra.Runtime.Tests.Infrastructure;

namespace LlmInfra.Runtime.Tests;

/// <summary>The server as an operator runs it: a separate process, its command line, its exit codes, SIGTERM.</summary>
public sealed class ProcessTests
{
    [Fact]
    public async Task Sigterm_drains_and_exits_zero()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return;
        var port = FreePort();
        using var process = Start("--model", Models.Tiny, "--no-auth", "--urls", $"http://127.0.0.1:{port}", "--model-name", "proc");
        var loaded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var output = new System.Collections.Concurrent.ConcurrentQueue<string>();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            output.Enqueue(e.Data);
            if (e.Data.Contains("loaded from", StringComparison.Ordinal)) loaded.TrySetResult();
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await loaded.Task.WaitAsync(TimeSpan.FromSeconds(60));

        using (var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") })
        {
            using var models = await client.GetAsync("/v1/models");
            Assert.Equal(HttpStatusCode.OK, models.StatusCode);
            Assert.Contains("\"proc\"", await models.Content.ReadAsStringAsync());
        }

        Assert.Equal(0, Kill(process.Id, 15));
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(0, process.ExitCode);
        Assert.Contains(output, line => line.Contains("Drained", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("--max-concurrent", "0")]
    [InlineData("--max-queue", "-1")]
    public async Task Bad_settings_exit_2_naming_the_option(string option, string value)
    {
        var (code, _, stderr) = await RunToEndAsync("--demo", "--no-auth", option, value);
        Assert.Equal(2, code);
        Assert.Contains(option, stderr);
    }

    [Fact]
    public async Task Missing_key_file_without_no_auth_refuses_to_start()
    {
        var (code, _, stderr) = await RunToEndAsync("--model", Models.Tiny);
        Assert.Equal(2, code);
        Assert.Contains("--no-auth", stderr);
        Assert.Contains("--api-keys-file", stderr);
    }

    [Fact]
    public async Task Unavailable_provider_exits_1_saying_what_is_missing()
    {
        var (code, _, stderr) = await RunToEndAsync("--model", Models.Tiny, "--no-auth", "--provider", "cuda", "--urls", $"http://127.0.0.1:{FreePort()}");
        Assert.Equal(1, code);
        Assert.Contains("cuda", stderr);
    }

    [Fact]
    public async Task Help_lists_the_documented_options()
    {
        var (code, stdout, _) = await RunToEndAsync("--help");
        Assert.Equal(0, code);
        foreach (var option in new[] { "--model", "--demo", "--urls", "--api-keys-file", "--no-auth", "--max-concurrent", "--max-queue", "--model-name" })
            Assert.Contains(option, stdout);
    }

    private static Process Start(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(typeof(Hosting.RuntimeApp).Assembly.Location);
        foreach (var a in args) info.ArgumentList.Add(a);
        info.Environment["Logging__Console__FormatterName"] = "simple";
        return Process.Start(info)!;
    }

    private static async Task<(int Code, string Stdout, string Stderr)> RunToEndAsync(params string[] args)
    {
        using var process = Start(args);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        return (process.ExitCode, await stdout, await stderr);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Sends a signal the way Kubernetes does on pod termination (SIGTERM), via the kill(1) utility.</summary>
    private static int Kill(int pid, int signal)
    {
        using var kill = Process.Start("kill", [$"-{signal}", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
        return kill.ExitCode;
    }
}
