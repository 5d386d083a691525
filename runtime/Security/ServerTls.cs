using LlmInfra.Runtime.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Options;

namespace LlmInfra.Runtime.Security;

/// <summary>
/// HTTPS for the server: with <c>--tls-cert-file</c> and <c>--tls-key-file</c> every <c>--urls</c> address is
/// <c>https://</c> and serves the <see cref="ReloadingCertificate"/> (TLS 1.2+); without them the server speaks plain
/// HTTP as before.
/// </summary>
public static class ServerTls
{
    private const string Cert = "Runtime:TlsCertFile (--tls-cert-file)";
    private const string Key = "Runtime:TlsKeyFile (--tls-key-file)";
    private const string Urls = "--urls (urls / ASPNETCORE_URLS)";

    public static void AddServerTls(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<IValidateOptions<RuntimeOptions>>(sp => new Validator(sp.GetRequiredService<IConfiguration>()));
        builder.Services.AddOptions<KestrelServerOptions>().Configure<IOptions<RuntimeOptions>, ILoggerFactory, TimeProvider>((kestrel, options, loggers, time) =>
        {
            var o = options.Value; // validated: both files or neither, https addresses only with them
            if (string.IsNullOrEmpty(o.TlsCertFile)) return;
            var certificate = new ReloadingCertificate(o.TlsCertFile, o.TlsKeyFile!, loggers.CreateLogger<ReloadingCertificate>(), time);
            // Endpoint defaults apply to the --urls addresses before Kestrel's own HTTPS setup, which then stays out.
            kestrel.ConfigureEndpointDefaults(listen => listen.UseHttps(new TlsHandshakeCallbackOptions
            {
                OnConnection = _ => ValueTask.FromResult(certificate.ServerOptions()),
            }));
        });
    }

    /// <summary>What is wrong with the TLS settings and the listen addresses together; empty when nothing is.</summary>
    /// <param name="urls">The <c>urls</c> setting: addresses separated by ';', or null for Kestrel's default.</param>
    public static IReadOnlyList<string> Validate(string? certFile, string? keyFile, string? urls)
    {
        var errors = new List<string>();
        var hasCert = !string.IsNullOrWhiteSpace(certFile);
        var hasKey = !string.IsNullOrWhiteSpace(keyFile);
        var addresses = (urls ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var https = addresses.Where(a => a.StartsWith("https://", StringComparison.OrdinalIgnoreCase)).ToList();

        if (hasCert != hasKey)
        {
            errors.Add(hasCert
                ? $"{Key} is required with {Cert}: give the certificate's private key (PEM, cert-manager's tls.key)."
                : $"{Cert} is required with {Key}: give the certificate chain (PEM, cert-manager's tls.crt).");
            return errors;
        }
        if (!hasCert)
        {
            if (https.Count > 0)
                errors.Add($"{Urls}: '{https[0]}' is HTTPS but there is no certificate: give {Cert} and {Key}.");
            return errors;
        }

        if (addresses.Length == 0)
            errors.Add($"{Urls}: give https:// addresses to serve TLS with {Cert} (the default, http://localhost:5000, is plain HTTP).");
        else if (addresses.FirstOrDefault(a => !a.StartsWith("https://", StringComparison.OrdinalIgnoreCase)) is { } plain)
            errors.Add($"{Urls}: '{plain}' is not HTTPS while {Cert} is given; every address serves TLS, use https://.");
        if (!File.Exists(certFile))
            errors.Add($"{Cert}: file '{certFile}' does not exist.");
        if (!File.Exists(keyFile))
            errors.Add($"{Key}: file '{keyFile}' does not exist.");
        if (errors.Count == 0)
        {
            try
            {
                using var leaf = ReloadingCertificate.Check(certFile!, keyFile!);
            }
            catch (CertificateLoadException ex)
            {
                errors.Add(ex.Message);
            }
        }
        return errors;
    }

    private sealed class Validator(IConfiguration configuration) : IValidateOptions<RuntimeOptions>
    {
        public ValidateOptionsResult Validate(string? name, RuntimeOptions o)
        {
            var errors = ServerTls.Validate(o.TlsCertFile, o.TlsKeyFile, configuration["urls"]);
            return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
        }
    }
}
