using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace LlmInfra.Runtime.Tests.Infrastructure;

/// <summary>An in-test CA and server certificates issued by it, as cert-manager's CA issuer makes them.</summary>
public sealed class TestCertificates : IDisposable
{
    public TestCertificates()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=llm-infra test CA", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        Ca = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(30));
    }

    public X509Certificate2 Ca { get; }

    /// <summary>A server certificate for 127.0.0.1 and localhost, signed by <see cref="Ca"/>, with its private key.</summary>
    public X509Certificate2 Issue(string commonName)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={commonName}", key, HashAlgorithmName.SHA256);
        return Issue(request, c => c.CopyWithPrivateKey(key));
    }

    /// <summary>The same with an RSA key (cert-manager's default key algorithm).</summary>
    public X509Certificate2 IssueRsa(string commonName)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={commonName}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return Issue(request, c => c.CopyWithPrivateKey(key));
    }

    private X509Certificate2 Issue(CertificateRequest request, Func<X509Certificate2, X509Certificate2> withKey)
    {
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F;
        using var caKey = Ca.GetECDsaPrivateKey()!;
        using var signed = request.Create(Ca.SubjectName, X509SignatureGenerator.CreateForECDsa(caKey),
            DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1), serial);
        return withKey(signed);
    }

    /// <summary>An HTTP client that trusts only <see cref="Ca"/> and reports the server certificate of each new connection.</summary>
    public HttpClient Client(Uri baseAddress, Action<X509Certificate2>? seen = null)
    {
        var handler = new SocketsHttpHandler { SslOptions = ClientOptions(SslProtocols.None, seen) };
        return new HttpClient(handler) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(60) };
    }

    public SslClientAuthenticationOptions ClientOptions(SslProtocols protocols, Action<X509Certificate2>? seen = null) => new()
    {
        TargetHost = "127.0.0.1",
        EnabledSslProtocols = protocols,
        CertificateChainPolicy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            CustomTrustStore = { Ca },
            RevocationMode = X509RevocationMode.NoCheck,
        },
        // Full verification (chain to the CA, name), only observed.
        RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
        {
            if (certificate is not null) seen?.Invoke(new X509Certificate2(certificate));
            return errors == SslPolicyErrors.None;
        },
    };

    public void Dispose() => Ca.Dispose();
}

/// <summary>
/// A folder laid out like a mounted Kubernetes Secret: tls.crt and tls.key are links into ..data, itself a link to a
/// timestamped folder; an update writes a new folder and swaps ..data in one rename, as the kubelet does.
/// </summary>
public sealed class SecretVolume : IDisposable
{
    private int _version;

    public SecretVolume(X509Certificate2 leaf, X509Certificate2 ca)
    {
        Root = Directory.CreateTempSubdirectory("llm-tls-").FullName;
        Write(leaf, ca);
        File.CreateSymbolicLink(CertFile, Path.Combine("..data", "tls.crt"));
        File.CreateSymbolicLink(KeyFile, Path.Combine("..data", "tls.key"));
    }

    public string Root { get; }
    public string CertFile => Path.Combine(Root, "tls.crt");
    public string KeyFile => Path.Combine(Root, "tls.key");

    /// <summary>tls.crt holds the leaf then the CA (cert-manager's CA issuer appends the chain); tls.key the PKCS#8 key.</summary>
    /// <remarks>RSA keys are written as PKCS#1 ("RSA PRIVATE KEY"), cert-manager's default encoding.</remarks>
    public void Write(X509Certificate2 leaf, X509Certificate2 ca) =>
        WriteRaw(leaf.ExportCertificatePem() + "\n" + ca.ExportCertificatePem() + "\n",
            (leaf.GetRSAPrivateKey()?.ExportRSAPrivateKeyPem() ?? leaf.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem()) + "\n");

    public void WriteRaw(string certPem, string keyPem)
    {
        var folder = Path.Combine(Root, $"..data_v{++_version}");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "tls.crt"), certPem);
        File.WriteAllText(Path.Combine(folder, "tls.key"), keyPem);
        var next = Path.Combine(Root, "..data_tmp");
        File.CreateSymbolicLink(next, Path.GetFileName(folder));
        using var rename = Process.Start("mv", ["-T", next, Path.Combine(Root, "..data")]);
        rename.WaitForExit();
        Assert.Equal(0, rename.ExitCode);
    }

    public void Dispose() => Directory.Delete(Root, recursive: true);
}
