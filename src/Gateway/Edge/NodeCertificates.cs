using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Forwarder;

namespace ServingGateway.Edge;

/// <summary>
/// The edge's HTTP client to its nodes (YARP's, for forwarding and active health checks alike): when
/// Edge:NodeCaFile is set, node certificates are verified against those roots alone (custom root trust;
/// the host name is still checked), so a node with a certificate from another CA fails closed.
/// </summary>
internal sealed class NodeCertificates : ForwarderHttpClientFactory
{
    private readonly X509Certificate2Collection? _roots;

    public NodeCertificates(IOptionsMonitor<EdgeOptions> options, ILogger<ForwarderHttpClientFactory> logger)
        : base(logger)
    {
        if (options.CurrentValue.NodeCaFile is { Length: > 0 } file && TryLoadRoots(file, out var roots) is null)
        {
            _roots = roots;
        }
    }

    /// <summary>Reads the CA certificates of a PEM file; returns what is wrong with it, or null.</summary>
    public static string? TryLoadRoots(string path, out X509Certificate2Collection roots)
    {
        roots = [];
        if (!File.Exists(path))
        {
            return $"{Path.GetFullPath(path)} does not exist";
        }

        try
        {
            roots.ImportFromPemFile(path);
        }
        catch (Exception ex) when (ex is CryptographicException or IOException or UnauthorizedAccessException)
        {
            return $"{Path.GetFullPath(path)} cannot be read as PEM certificates: {ex.Message}";
        }

        return roots.Count == 0 ? $"{Path.GetFullPath(path)} holds no PEM certificate (-----BEGIN CERTIFICATE-----)" : null;
    }

    protected override void ConfigureHandler(ForwarderHttpClientContext context, SocketsHttpHandler handler)
    {
        base.ConfigureHandler(context, handler);
        if (_roots is null)
        {
            return;
        }

        var policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck, // a private CA publishes no revocation list
        };
        policy.CustomTrustStore.AddRange(_roots);
        handler.SslOptions = new SslClientAuthenticationOptions { CertificateChainPolicy = policy };
    }
}
