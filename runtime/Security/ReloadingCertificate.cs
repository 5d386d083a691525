using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace LlmInfra.Runtime.Security;

/// <summary>A certificate and key pair that cannot be read or loaded; the message names the files, never the key.</summary>
public sealed class CertificateLoadException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The server certificate from two PEM files (cert-manager's <c>tls.crt</c>, leaf first then any intermediates, and
/// <c>tls.key</c>), picked up again when they change: cert-manager renews in place and the kubelet swaps the mounted
/// Secret's files, so the server must not need a restart. Each TLS handshake asks for <see cref="ServerOptions"/>;
/// at most once per <see cref="CheckInterval"/> that reads both files and compares them with the loaded ones (a
/// stat would miss the kubelet's symlink swap on some file systems; two small reads cost nothing next to a
/// handshake). A pair that does not load (a half-written manual copy) is logged and the previous certificate
/// stays in use until the files are whole again.
/// </summary>
public sealed class ReloadingCertificate
{
    public static readonly TimeSpan CheckInterval = TimeSpan.FromSeconds(1);

    /// <summary>TLS 1.2 and 1.3 only.</summary>
    public const SslProtocols Protocols = SslProtocols.Tls12 | SslProtocols.Tls13;

    private readonly string _certPath;
    private readonly string _keyPath;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private volatile Loaded _current;
    private long _checkedAt;
    private (byte[] Cert, byte[] Key)? _lastFailure;

    public ReloadingCertificate(string certPath, string keyPath, ILogger logger, TimeProvider? time = null)
    {
        _certPath = certPath;
        _keyPath = keyPath;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _current = Load(Read(certPath, keyPath), certPath, keyPath);
        _checkedAt = _time.GetTimestamp();
        LogLoaded("loaded");
    }

    /// <summary>The leaf certificate served now.</summary>
    public X509Certificate2 Certificate
    {
        get
        {
            Refresh();
            return _current.Leaf;
        }
    }

    /// <summary>Options for one handshake (a fresh object: Kestrel fills in ALPN on it).</summary>
    public SslServerAuthenticationOptions ServerOptions()
    {
        Refresh();
        return new SslServerAuthenticationOptions { ServerCertificateContext = _current.Context, EnabledSslProtocols = Protocols };
    }

    /// <summary>Reads and loads the pair once; throws <see cref="CertificateLoadException"/> naming the options.</summary>
    public static X509Certificate2 Check(string certPath, string keyPath) => Load(Read(certPath, keyPath), certPath, keyPath).Leaf;

    private void Refresh()
    {
        var now = _time.GetTimestamp();
        if (_time.GetElapsedTime(Interlocked.Read(ref _checkedAt), now) < CheckInterval) return;
        lock (_lock)
        {
            if (_time.GetElapsedTime(_checkedAt, now) < CheckInterval) return;
            Interlocked.Exchange(ref _checkedAt, now);
            try
            {
                var files = Read(_certPath, _keyPath);
                if (files.Cert.AsSpan().SequenceEqual(_current.CertPem) && files.Key.AsSpan().SequenceEqual(_current.KeyPem)) return;
                if (_lastFailure is { } failed && files.Cert.AsSpan().SequenceEqual(failed.Cert) && files.Key.AsSpan().SequenceEqual(failed.Key)) return;
                try
                {
                    _current = Load(files, _certPath, _keyPath);
                    _lastFailure = null;
                    LogLoaded("reloaded");
                }
                catch (CertificateLoadException)
                {
                    _lastFailure = files;
                    throw;
                }
            }
            catch (CertificateLoadException ex)
            {
                _logger.LogWarning("TLS certificate files changed but do not load; still serving {Thumbprint}: {Error}",
                    _current.Leaf.Thumbprint, ex.Message);
            }
        }
    }

    private void LogLoaded(string what)
    {
        var leaf = _current.Leaf;
        _logger.LogInformation("TLS certificate {What}: {Subject}, valid until {NotAfter:u}, thumbprint {Thumbprint}",
            what, leaf.Subject, leaf.NotAfter.ToUniversalTime(), leaf.Thumbprint);
        if (leaf.NotAfter.ToUniversalTime() < DateTime.UtcNow)
            _logger.LogWarning("TLS certificate {Thumbprint} expired at {NotAfter:u}", leaf.Thumbprint, leaf.NotAfter.ToUniversalTime());
    }

    private static (byte[] Cert, byte[] Key) Read(string certPath, string keyPath)
    {
        return (ReadFile(certPath, "Runtime:TlsCertFile (--tls-cert-file)"), ReadFile(keyPath, "Runtime:TlsKeyFile (--tls-key-file)"));

        static byte[] ReadFile(string path, string option)
        {
            try
            {
                return File.ReadAllBytes(path);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new CertificateLoadException($"{option}: cannot read '{path}': {ex.Message}", ex);
            }
        }
    }

    private static Loaded Load((byte[] Cert, byte[] Key) files, string certPath, string keyPath)
    {
        var certPem = Encoding.UTF8.GetString(files.Cert);
        var keyPem = Encoding.UTF8.GetString(files.Key);
        try
        {
            var leaf = X509Certificate2.CreateFromPem(certPem, keyPem);
            if (OperatingSystem.IsWindows())
            {
                // SChannel cannot use the ephemeral key CreateFromPem makes; OpenSSL (Linux, the image) can.
                using var ephemeral = leaf;
                leaf = X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pkcs12), null);
            }
            var all = new X509Certificate2Collection();
            all.ImportFromPem(certPem);
            var intermediates = new X509Certificate2Collection();
            foreach (var cert in all)
            {
                if (cert.Thumbprint != leaf.Thumbprint) intermediates.Add(cert);
            }
            // offline: the chain is what the file holds; no fetching of issuers during startup or a handshake.
            var context = SslStreamCertificateContext.Create(leaf, intermediates, offline: true);
            return new Loaded(files.Cert, files.Key, leaf, context);
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException)
        {
            throw new CertificateLoadException(
                $"Runtime:TlsCertFile (--tls-cert-file) and Runtime:TlsKeyFile (--tls-key-file): cannot load a certificate and its private key " +
                $"from '{certPath}' and '{keyPath}': {ex.Message}", ex);
        }
    }

    private sealed record Loaded(byte[] CertPem, byte[] KeyPem, X509Certificate2 Leaf, SslStreamCertificateContext Context);
}
