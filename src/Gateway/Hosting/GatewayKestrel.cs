namespace ServingGateway.Hosting;

/// <summary>How the host listens: the default URL, HTTPS certificates, request limits per role.</summary>
internal static class GatewayKestrel
{
    /// <summary>
    /// The errors of the HTTPS settings: an https:// URL needs a certificate; a certificate file named must exist.
    /// Kestrel's own messages come only once the host starts, one at a time.
    /// </summary>
    public static IEnumerable<string> Check(IConfiguration configuration)
    {
        var urls = (configuration["Urls"] ?? GatewayApp.DefaultUrls).Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var certificate = configuration.GetSection("Kestrel:Certificates:Default");
        if (urls.Any(u => u.StartsWith("https://", StringComparison.OrdinalIgnoreCase)) && string.IsNullOrEmpty(certificate["Path"]))
        {
            yield return "an https:// URL needs a certificate: Kestrel:Certificates:Default:Path (a .pfx, with Kestrel:Certificates:Default:Password) or a PEM certificate with Kestrel:Certificates:Default:KeyPath (docs/SECURITY.md)";
        }

        foreach (var key in (string[])["Path", "KeyPath"])
        {
            if (certificate[key] is { Length: > 0 } file && !File.Exists(file))
            {
                yield return $"Kestrel:Certificates:Default:{key}: {Path.GetFullPath(file)} does not exist";
            }
        }
    }

    /// <summary>Configures Kestrel for <paramref name="settings"/>' role.</summary>
    public static WebApplicationBuilder UseGatewayKestrel(this WebApplicationBuilder builder, GatewaySettings settings)
    {
        if (string.IsNullOrEmpty(builder.Configuration["Urls"]))
        {
            builder.WebHost.UseUrls(GatewayApp.DefaultUrls);
        }

        // https:// URLs (and Kestrel:Endpoints) take their certificate from Kestrel:Certificates:Default (a .pfx
        // Path and Password, or a PEM Path and KeyPath), as ASP.NET Core configures it.
        builder.WebHost.UseKestrelHttpsConfiguration();

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(settings.Edge.RequestHeadersTimeoutSeconds);

            // A node refuses bodies over its limit itself (413 with JSON) and may drain up to one more
            // limit's worth of a chunked body so the client reads the answer (PooledBody); an edge streams
            // bodies to the nodes and stops them at its own limit.
            kestrel.Limits.MaxRequestBodySize = settings.Role == GatewayRole.Edge ? settings.Edge.MaxRequestBodyBytes : 2 * settings.Inference.MaxRequestBodyBytes;
        });
        return builder;
    }
}
