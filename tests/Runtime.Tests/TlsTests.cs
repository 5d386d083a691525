using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using LlmInfra.Runtime.Security;
using LlmInfra.Runtime.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenAI;
using OpenAI.Chat;

namespace LlmInfra.Runtime.Tests;

/// <summary>The server over HTTPS with a certificate from files, as cert-manager mounts it; rotation without restart.</summary>
public sealed class TlsTests : IDisposable
{
    private readonly TestCertificates _certificates = new();

    public void Dispose() => _certificates.Dispose();

    private Task<RuntimeServer> StartAsync(SecretVolume volume, LogCapture? logs = null) =>
        RuntimeServer.StartAsync(overrides: new Dictionary<string, string?>
        {
            ["urls"] = "https://127.0.0.1:0",
            ["Runtime:TlsCertFile"] = volume.CertFile,
            ["Runtime:TlsKeyFile"] = volume.KeyFile,
        }, configure: logs is null ? null : b => b.Services.AddSingleton<ILoggerProvider>(logs));

    [Fact]
    public async Task Serves_https_to_the_openai_client_and_metrics_to_a_scraper_trusting_the_ca()
    {
        using var volume = new SecretVolume(_certificates.Issue("runtime-a"), _certificates.Ca);
        await using var server = await StartAsync(volume);
        Assert.Equal("https", server.BaseAddress.Scheme);

        using var http = _certificates.Client(server.BaseAddress);
        var chat = new ChatClient(RuntimeServer.ModelName, new ApiKeyCredential(RuntimeServer.ApiKey),
            new OpenAIClientOptions { Endpoint = new Uri(server.BaseAddress, "/v1"), Transport = new HttpClientPipelineTransport(http) });
        ChatCompletion completion = await chat.CompleteChatAsync([new UserChatMessage("Hello over TLS")], new ChatCompletionOptions { MaxOutputTokenCount = 4 });
        Assert.Equal(4, completion.Usage.OutputTokenCount);

        var metrics = await http.GetStringAsync("/metrics");
        Assert.Contains("llm_requests_total", metrics);

        // Plain HTTP on the TLS port is not served.
        using var plain = new HttpClient { BaseAddress = new UriBuilder(server.BaseAddress) { Scheme = "http" }.Uri };
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => plain.GetAsync("/healthz"));
    }

    [Fact]
    public async Task Only_tls_1_2_and_1_3_are_offered()
    {
        using var volume = new SecretVolume(_certificates.Issue("runtime-a"), _certificates.Ca);
        await using var server = await StartAsync(volume);

        Assert.Equal(SslProtocols.Tls12, await HandshakeAsync(server.BaseAddress, SslProtocols.Tls12));
        Assert.Equal(SslProtocols.Tls13, await HandshakeAsync(server.BaseAddress, SslProtocols.Tls13));
#pragma warning disable SYSLIB0039 // TLS 1.0/1.1 are obsolete: that is the point.
        foreach (var old in new[] { SslProtocols.Tls11, SslProtocols.Tls })
            await Assert.ThrowsAnyAsync<Exception>(() => HandshakeAsync(server.BaseAddress, old));
#pragma warning restore SYSLIB0039
        Assert.Equal(SslProtocols.Tls12 | SslProtocols.Tls13, ReloadingCertificate.Protocols);

        // .NET's client may refuse TLS 1.0/1.1 itself; OpenSSL at security level 0 offers them, so the refusal seen
        // here is the server's: a "protocol version" alert.
        foreach (var old in new[] { "-tls1", "-tls1_1" })
        {
            var openssl = await OpenSslHandshakeAsync(server.BaseAddress, old);
            if (openssl is null) break; // no openssl on this machine
            Assert.Contains("alert protocol version", openssl);
        }
        Assert.Contains("New, TLSv1.2", await OpenSslHandshakeAsync(server.BaseAddress, "-tls1_2") ?? "New, TLSv1.2");
    }

    [Fact]
    public async Task A_renewed_certificate_is_served_without_restart_and_a_broken_update_keeps_the_old_one()
    {
        using var volume = new SecretVolume(_certificates.Issue("runtime-a"), _certificates.Ca);
        var logs = new LogCapture();
        await using var server = await StartAsync(volume, logs);
        Assert.Equal("CN=runtime-a", (await ServedAsync(server.BaseAddress)).Subject);

        using var renewed = _certificates.Issue("runtime-b");
        volume.Write(renewed, _certificates.Ca);
        var served = await WaitForAsync(server.BaseAddress, c => c.Thumbprint == renewed.Thumbprint);
        Assert.Equal("CN=runtime-b", served.Subject);

        // A key that does not belong to the certificate: keep serving the last good pair and say so.
        using var stranger = _certificates.Issue("stranger");
        volume.WriteRaw(_certificates.Issue("runtime-c").ExportCertificatePem(), stranger.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
        await Task.Delay(ReloadingCertificate.CheckInterval * 2);
        Assert.Equal(renewed.Thumbprint, (await ServedAsync(server.BaseAddress)).Thumbprint);
        Assert.Contains(logs.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("do not load; still serving", StringComparison.Ordinal));
        Assert.DoesNotContain(logs.Entries, e => e.Message.Contains("PRIVATE KEY", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(true, false, "https://127.0.0.1:8443", "Runtime:TlsKeyFile (--tls-key-file) is required with Runtime:TlsCertFile (--tls-cert-file)")]
    [InlineData(false, true, "https://127.0.0.1:8443", "Runtime:TlsCertFile (--tls-cert-file) is required with Runtime:TlsKeyFile (--tls-key-file)")]
    [InlineData(false, false, "http://127.0.0.1:8080;https://127.0.0.1:8443", "--urls (urls / ASPNETCORE_URLS): 'https://127.0.0.1:8443' is HTTPS but there is no certificate")]
    [InlineData(true, true, "https://127.0.0.1:8443; http://127.0.0.1:8080", "--urls (urls / ASPNETCORE_URLS): 'http://127.0.0.1:8080' is not HTTPS while Runtime:TlsCertFile (--tls-cert-file) is given")]
    [InlineData(true, true, null, "--urls (urls / ASPNETCORE_URLS): give https:// addresses")]
    public void Bad_combinations_are_named(bool cert, bool key, string? urls, string expected)
    {
        using var volume = new SecretVolume(_certificates.Issue("runtime-a"), _certificates.Ca);
        var errors = ServerTls.Validate(cert ? volume.CertFile : null, key ? volume.KeyFile : null, urls);
        Assert.StartsWith(expected, Assert.Single(errors));
    }

    [Fact]
    public void Good_settings_and_plain_http_pass()
    {
        using var volume = new SecretVolume(_certificates.Issue("runtime-a"), _certificates.Ca);
        Assert.Empty(ServerTls.Validate(volume.CertFile, volume.KeyFile, "https://0.0.0.0:8443;https://[::]:8444"));
        using var rsa = _certificates.IssueRsa("runtime-rsa");
        volume.Write(rsa, _certificates.Ca);
        Assert.Contains("BEGIN RSA PRIVATE KEY", File.ReadAllText(volume.KeyFile));
        Assert.Empty(ServerTls.Validate(volume.CertFile, volume.KeyFile, "https://0.0.0.0:8443"));
        Assert.Empty(ServerTls.Validate(null, null, "http://0.0.0.0:8080"));
        Assert.Empty(ServerTls.Validate(null, null, null));
    }

    [Fact]
    public void Missing_unreadable_or_mismatched_pem_files_are_named()
    {
        using var volume = new SecretVolume(_certificates.Issue("runtime-a"), _certificates.Ca);
        var missing = Path.Combine(volume.Root, "absent.pem");
        Assert.Equal([$"Runtime:TlsCertFile (--tls-cert-file): file '{missing}' does not exist."],
            ServerTls.Validate(missing, volume.KeyFile, "https://127.0.0.1:8443"));

        volume.WriteRaw("not a certificate\n", "not a key\n");
        var garbage = Assert.Single(ServerTls.Validate(volume.CertFile, volume.KeyFile, "https://127.0.0.1:8443"));
        Assert.StartsWith($"Runtime:TlsCertFile (--tls-cert-file) and Runtime:TlsKeyFile (--tls-key-file): cannot load a certificate and its private key from '{volume.CertFile}' and '{volume.KeyFile}': ", garbage);

        using var stranger = _certificates.Issue("stranger");
        var keyPem = stranger.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem();
        volume.WriteRaw(_certificates.Issue("runtime-c").ExportCertificatePem(), keyPem);
        var mismatch = Assert.Single(ServerTls.Validate(volume.CertFile, volume.KeyFile, "https://127.0.0.1:8443"));
        Assert.Contains("cannot load a certificate and its private key", mismatch);
        Assert.DoesNotContain(keyPem.Split('\n')[1], mismatch);
    }

    [Theory]
    [InlineData("--tls-cert-file", "--tls-key-file")]
    [InlineData("--tls-key-file", "--tls-cert-file")]
    public async Task The_server_process_refuses_half_a_tls_setup_with_one_line(string given, string missing)
    {
        using var volume = new SecretVolume(_certificates.Issue("runtime-a"), _certificates.Ca);
        var (code, stdout, stderr) = await ProcessTests.RunToEndAsync("--model", Models.Tiny, "--no-auth", "--urls", "https://127.0.0.1:0", given,
            given == "--tls-cert-file" ? volume.CertFile : volume.KeyFile);

        Assert.True(code == 2, $"exit {code}\n{stdout}\n{stderr}");
        var line = Assert.Single(stderr.Trim().Split('\n'));
        Assert.StartsWith("Invalid configuration: ", line);
        Assert.Contains($"({missing}) is required", line);
        ProcessTests.AssertNoStackTrace(stdout + stderr);
    }

    [Fact]
    public async Task Help_lists_the_tls_options()
    {
        var (code, stdout, _) = await ProcessTests.RunToEndAsync("--help");
        Assert.Equal(0, code);
        Assert.Contains("--tls-cert-file", stdout);
        Assert.Contains("--tls-key-file", stdout);
    }

    [Fact]
    public async Task The_server_process_refuses_an_https_address_without_a_certificate()
    {
        var (code, stdout, stderr) = await ProcessTests.RunToEndAsync("--model", Models.Tiny, "--no-auth", "--urls", "https://127.0.0.1:0");

        Assert.True(code == 2, $"exit {code}\n{stdout}\n{stderr}");
        Assert.Equal("Invalid configuration: --urls (urls / ASPNETCORE_URLS): 'https://127.0.0.1:0' is HTTPS but there is no certificate: " +
            "give Runtime:TlsCertFile (--tls-cert-file) and Runtime:TlsKeyFile (--tls-key-file).", stderr.Trim());
    }

    /// <summary>A TLS handshake with only <paramref name="protocols"/> enabled; returns what was negotiated.</summary>
    private async Task<SslProtocols> HandshakeAsync(Uri address, SslProtocols protocols)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, address.Port);
        await using var ssl = new SslStream(tcp.GetStream());
        await ssl.AuthenticateAsClientAsync(_certificates.ClientOptions(protocols));
        return ssl.SslProtocol;
    }

    /// <summary>openssl s_client's report of a handshake with one protocol version; null where openssl is not installed.</summary>
    private static async Task<string?> OpenSslHandshakeAsync(Uri address, string version)
    {
        System.Diagnostics.Process? process;
        try
        {
            process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("openssl",
                ["s_client", "-connect", $"127.0.0.1:{address.Port}", version, "-cipher", "DEFAULT@SECLEVEL=0"])
            {
                RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            });
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
        using (process)
        {
            process!.StandardInput.Close();
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            return await stdout + await stderr;
        }
    }

    /// <summary>The certificate a new connection is served (verified against the CA).</summary>
    private async Task<X509Certificate2> ServedAsync(Uri address)
    {
        X509Certificate2? served = null;
        using var client = _certificates.Client(address, c => served = c);
        using var response = await client.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return served!;
    }

    private async Task<X509Certificate2> WaitForAsync(Uri address, Func<X509Certificate2, bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            var served = await ServedAsync(address);
            if (condition(served)) return served;
            Assert.True(DateTime.UtcNow < deadline, $"still serving {served.Subject} after 20 s");
            await Task.Delay(100);
        }
    }
}
