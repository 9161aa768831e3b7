using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace ServingGateway.FunctionalTests.Infrastructure;

/// <summary>
/// A throw-away CA and a server certificate it signs for 127.0.0.1 and localhost, made at run time (no
/// private key is committed) and written to a temporary folder as PEM files and a .pfx; deleted on dispose.
/// </summary>
internal sealed class TestCertificates : IDisposable
{
    public const string PfxPassword = "test-pfx-password";

    public TestCertificates(string name = "ServingGateway test CA")
    {
        Folder = Path.Combine(Path.GetTempPath(), "sg-tls-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Folder);
        var now = DateTimeOffset.UtcNow;

        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest($"CN={name}", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        Ca = caRequest.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));

        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var serverRequest = new CertificateRequest("CN=localhost", serverKey, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        serverRequest.CertificateExtensions.Add(names.Build());
        serverRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        serverRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        serverRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var signed = serverRequest.Create(Ca, now.AddMinutes(-5), now.AddDays(1), [1, 2, 3, 4, 5, 6, 7, 8]);
        using var server = signed.CopyWithPrivateKey(serverKey);

        File.WriteAllText(CaPem, Ca.ExportCertificatePem());
        File.WriteAllText(ServerPem, server.ExportCertificatePem());
        File.WriteAllText(ServerKeyPem, serverKey.ExportPkcs8PrivateKeyPem());
        File.WriteAllBytes(ServerPfx, server.Export(X509ContentType.Pfx, PfxPassword));
    }

    public string Folder { get; }

    /// <summary>The CA's certificate (public part only).</summary>
    public X509Certificate2 Ca { get; }

    public string CaPem => Path.Combine(Folder, "ca.pem");

    public string ServerPem => Path.Combine(Folder, "server.pem");

    public string ServerKeyPem => Path.Combine(Folder, "server.key");

    public string ServerPfx => Path.Combine(Folder, "server.pfx");

    /// <summary>A client that trusts this CA alone.</summary>
    public HttpClient Client(Uri baseAddress) => new(Handler()) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(60) };

    /// <summary>A handler that trusts this CA alone (for a gRPC channel, or an HTTP client).</summary>
    public SocketsHttpHandler Handler()
    {
        var policy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
        policy.CustomTrustStore.Add(Ca);
        return new SocketsHttpHandler { SslOptions = new SslClientAuthenticationOptions { CertificateChainPolicy = policy } };
    }

    public void Dispose()
    {
        Ca.Dispose();
        Directory.Delete(Folder, recursive: true);
    }
}
