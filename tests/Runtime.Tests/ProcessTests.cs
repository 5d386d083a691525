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
    public async Task Missing_model_folder_exits_1_with_one_line_naming_the_option_and_the_path()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"no-model-{Guid.NewGuid():N}");
        var (code, stdout, stderr) = await RunToEndAsync("--model", missing, "--no-auth", "--urls", $"http://127.0.0.1:{FreePort()}");

        Assert.True(code == 1, $"exit {code}\n{stdout}\n{stderr}");
        Assert.Equal($"Startup failed: Runtime:Model (--model): Model folder '{missing}' does not exist.", stderr.Trim());
        AssertNoStackTrace(stdout + stderr);
    }

    [Fact]
    public async Task Tampered_model_exits_1_with_one_line_naming_the_file_before_anything_is_loaded()
    {
        var dir = Directory.CreateTempSubdirectory("llm-tampered-").FullName;
        try
        {
            LlmInfra.DemoModel.DemoModelWriter.Write(LlmInfra.DemoModel.DemoModelSpec.Tiny, dir);
            var manifest = await LlmInfra.Artifacts.ManifestBuilder.CreateAsync(dir, new() { Name = "tiny", Version = "1" });
            var digest = LlmInfra.Artifacts.ManifestFile.Write(dir, manifest);
            var tokenizer = Path.Combine(dir, "tokenizer.json");
            var bytes = File.ReadAllBytes(tokenizer);
            bytes[bytes.Length / 2] ^= 1;
            File.WriteAllBytes(tokenizer, bytes);

            var (code, stdout, stderr) = await RunToEndAsync("--model", dir, "--model-digest", digest, "--no-auth", "--urls", $"http://127.0.0.1:{FreePort()}");

            Assert.True(code == 1, $"exit {code}\n{stdout}\n{stderr}");
            var line = Assert.Single(stderr.Trim().Split('\n'));
            Assert.StartsWith($"Startup failed: Runtime:Model (--model): model file '{tokenizer}': SHA-256 ", line);
            AssertNoStackTrace(stdout + stderr);
            Assert.DoesNotContain("loaded from", stdout);

            (code, _, stderr) = await RunToEndAsync("--model", dir, "--model-digest", "sha256:ABC", "--no-auth");
            Assert.Equal(2, code);
            Assert.Contains("Runtime:ModelDigest (--model-digest) must be sha256:<64 lowercase hex digits> (got 'sha256:ABC').", stderr);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Port_in_use_exits_1_with_one_line_naming_the_option_and_the_port()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;

        var (code, stdout, stderr) = await RunToEndAsync("--model", Models.Tiny, "--no-auth", "--urls", $"http://127.0.0.1:{port}");

        Assert.True(code == 1, $"exit {code}\n{stdout}\n{stderr}");
        var line = Assert.Single(stderr.Trim().Split('\n'));
        Assert.StartsWith("Startup failed: --urls", line);
        Assert.Contains($"127.0.0.1:{port}", line);
        Assert.Contains("address already in use", line);
        AssertNoStackTrace(stdout + stderr);
        // The bind fails before the model is read: nothing is loaded for a server that cannot listen.
        Assert.DoesNotContain("loaded from", stdout);
    }

    [Fact]
    public async Task Dotnet_run_resolves_relative_paths_against_the_callers_folder()
    {
        // The docs' recipe: `dotnet run --project runtime -- --model <dir> --api-keys-file keys.txt` from the caller's
        // folder. The Web SDK would start the process in the project folder, where keys.txt is not.
        var caller = Directory.CreateTempSubdirectory("llm-caller-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(caller, "keys.txt"), "sk-relative-key\n");
            var model = Path.GetRelativePath(caller, Models.Tiny);
            Assert.False(Path.IsPathRooted(model));
            var port = FreePort();
            using var process = StartDotnetRun(caller, "--model", model, "--api-keys-file", "keys.txt", "--urls", $"http://127.0.0.1:{port}");
            var output = new System.Collections.Concurrent.ConcurrentQueue<string>();
            var loaded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            void Collect(DataReceivedEventArgs e)
            {
                if (e.Data is null) return;
                output.Enqueue(e.Data);
                if (e.Data.Contains($"loaded from {Models.Tiny}", StringComparison.Ordinal)) loaded.TrySetResult();
            }
            process.OutputDataReceived += (_, e) => Collect(e);
            process.ErrorDataReceived += (_, e) => Collect(e);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            try
            {
                var exited = process.WaitForExitAsync();
                var first = await Task.WhenAny(loaded.Task, exited).WaitAsync(TimeSpan.FromSeconds(90));
                Assert.True(first == loaded.Task, $"the server did not load the model:\n{string.Join('\n', output)}");

                using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
                client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "sk-relative-key");
                using var models = await client.GetAsync("/v1/models");
                Assert.Equal(HttpStatusCode.OK, models.StatusCode);
            }
            finally
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }

            var (code, stdout, stderr) = await RunDotnetRunToEndAsync(caller, "--model", "missing-model", "--no-auth", "--urls", $"http://127.0.0.1:{FreePort()}");
            Assert.True(code == 1, $"exit {code}\n{stdout}\n{stderr}");
            Assert.Contains($"Runtime:Model (--model): Model folder '{Path.Combine(caller, "missing-model")}' does not exist.", stderr);

            (code, stdout, stderr) = await RunDotnetRunToEndAsync(caller, "--demo", "--api-keys-file", "missing-keys.txt");
            Assert.True(code == 2, $"exit {code}\n{stdout}\n{stderr}");
            Assert.Contains($"Runtime:ApiKeysFile (--api-keys-file): file '{Path.Combine(caller, "missing-keys.txt")}' does not exist.", stderr);
        }
        finally
        {
            Directory.Delete(caller, recursive: true);
        }
    }

    [Fact]
    public async Task Help_lists_the_documented_options()
    {
        var (code, stdout, _) = await RunToEndAsync("--help");
        Assert.Equal(0, code);
        foreach (var option in new[] { "--model", "--model-digest", "--skip-verify", "--demo", "--urls", "--api-keys-file", "--no-auth", "--max-concurrent", "--max-queue", "--model-name" })
            Assert.Contains(option, stdout);
    }

    internal static void AssertNoStackTrace(string output)
    {
        Assert.DoesNotContain("Exception", output);
        Assert.DoesNotMatch(@"(?m)^\s+at \S+\(", output);
    }

    private static Process Start(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(typeof(Hosting.RuntimeApp).Assembly.Location);
        foreach (var a in args) info.ArgumentList.Add(a);
        info.Environment["Logging__Console__FormatterName"] = "simple";
        return Process.Start(info)!;
    }

    /// <summary>
    /// `dotnet run --project runtime` from <paramref name="workingDirectory"/>, as a user starts it, on the build the
    /// tests use (runtime/bin/&lt;configuration&gt;/&lt;tfm&gt;/LlmInfra.Runtime.dll), without building again.
    /// </summary>
    private static Process StartDotnetRun(string workingDirectory, params string[] args)
    {
        // The tests' own output folder (tests/Runtime.Tests/bin/<configuration>/<tfm>) names the configuration; the
        // solution builds runtime/ with the same one. The project is found from the repository root (Infra.sln).
        var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var configuration = output.Parent!.Name;
        var root = output;
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Infra.sln"))) root = root.Parent;
        Assert.NotNull(root);
        var project = Path.Combine(root.FullName, "runtime");
        Assert.True(File.Exists(Path.Combine(project, "Runtime.csproj")), $"no Runtime.csproj in {project}");
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = workingDirectory,
        };
        foreach (var a in new[] { "run", "--project", project, "--no-build", "-c", configuration, "--" }.Concat(args))
            info.ArgumentList.Add(a);
        info.Environment["Logging__Console__FormatterName"] = "simple";
        return Process.Start(info)!;
    }

    internal static Task<(int Code, string Stdout, string Stderr)> RunToEndAsync(params string[] args) => ToEndAsync(Start(args));

    private static Task<(int Code, string Stdout, string Stderr)> RunDotnetRunToEndAsync(string workingDirectory, params string[] args) =>
        ToEndAsync(StartDotnetRun(workingDirectory, args));

    private static async Task<(int Code, string Stdout, string Stderr)> ToEndAsync(Process started)
    {
        using var process = started;
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
