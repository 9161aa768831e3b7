namespace ServingGateway.Hosting;

/// <summary>How the host listens: the default URLs (REST and gRPC), HTTPS certificates, request limits per role.</summary>
internal static class GatewayKestrel
{
    /// <summary>Where the gRPC service listens when neither GrpcUrls nor Urls is given (Triton's gRPC port, loopback only).</summary>
    public const string DefaultGrpcUrls = "http://127.0.0.1:8001";

    /// <summary>The REST URLs: Urls, or <see cref="GatewayApp.DefaultUrls"/>.</summary>
    public static string[] RestUrls(IConfiguration configuration) => Split(configuration["Urls"] ?? GatewayApp.DefaultUrls);

    /// <summary>
    /// The gRPC URLs: GrpcUrls (<c>none</c>: no gRPC listener); without it, <see cref="DefaultGrpcUrls"/> when Urls is
    /// not given either, and none when it is, so servers started side by side with their own --urls never race for 8001.
    /// </summary>
    /// <remarks>Every role: an edge forwards what its gRPC listener receives to the nodes' (Edge:NodeGrpcPort).</remarks>
    public static string[] GrpcUrls(IConfiguration configuration)
    {
        var value = configuration["GrpcUrls"] ?? (configuration["Urls"] is null ? DefaultGrpcUrls : "none");
        return string.Equals(value.Trim(), "none", StringComparison.OrdinalIgnoreCase) ? [] : Split(value);
    }

    private static string[] Split(string urls) => urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>
    /// The errors of the HTTPS settings: an https:// URL needs a certificate; a certificate file named must exist.
    /// Kestrel's own messages come only once the host starts, one at a time.
    /// </summary>
    public static IEnumerable<string> Check(IConfiguration configuration)
    {
        string[] urls = [.. RestUrls(configuration), .. GrpcUrls(configuration)];
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
        var grpc = GrpcUrls(builder.Configuration);
        if (grpc.Length > 0)
        {
            // A second listener, HTTP/2 only (gRPC's h2c needs it: cleartext has no protocol negotiation), is a
            // Kestrel endpoint; once there is one, Kestrel binds configured endpoints and ignores Urls, so the REST
            // URLs become endpoints too (unless Kestrel:Endpoints already names them) and Urls is emptied.
            var endpoints = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase) { ["Urls"] = "" };
            if (!builder.Configuration.GetSection("Kestrel:Endpoints").GetChildren().Any())
            {
                var rest = RestUrls(builder.Configuration);
                for (var i = 0; i < rest.Length; i++)
                {
                    endpoints[$"Kestrel:Endpoints:Rest{i}:Url"] = rest[i];
                }
            }

            for (var i = 0; i < grpc.Length; i++)
            {
                endpoints[$"Kestrel:Endpoints:Grpc{i}:Url"] = grpc[i];
                endpoints[$"Kestrel:Endpoints:Grpc{i}:Protocols"] = "Http2";
            }

            builder.Configuration.AddInMemoryCollection(endpoints);
        }
        else
        {
            builder.WebHost.UseUrls(RestUrls(builder.Configuration));
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
