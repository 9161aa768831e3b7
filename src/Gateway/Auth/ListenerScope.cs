using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace ServingGateway.Auth;

/// <summary>
/// Whether the server listens on loopback addresses only, decided once the server has started from the
/// addresses Kestrel actually bound (<see cref="IServerAddressesFeature"/>) and the <c>Kestrel:Endpoints</c>
/// URLs, never from the <c>--urls</c> text. Until then it says no: the loopback defaults (anonymous access
/// in standalone, a node without keys) never apply to a request that arrives before the decision.
/// </summary>
internal sealed class ListenerScope
{
    private volatile bool _loopbackOnly;

    /// <summary>True once the server started listening on loopback addresses only.</summary>
    public bool LoopbackOnly => _loopbackOnly;

    /// <summary>The addresses the decision was made from (for the start-up log and errors).</summary>
    public IReadOnlyList<string> Addresses { get; private set; } = [];

    /// <summary>Decides from the started server's addresses and the configured Kestrel endpoints.</summary>
    public void Resolve(IServer server, IConfiguration configuration)
    {
        var bound = server.Features.Get<IServerAddressesFeature>()?.Addresses.ToArray() ?? [];
        var configured = configuration.GetSection("Kestrel:Endpoints").GetChildren().Select(e => e["Url"]).OfType<string>();
        Addresses = bound;
        _loopbackOnly = bound.Length > 0 && bound.Concat(configured).All(IsLoopback);
    }

    /// <summary>True for a URL whose host is localhost or a loopback IP address (127.0.0.0/8, ::1).</summary>
    public static bool IsLoopback(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            return false;
        }

        return uri.IsLoopback && (string.Equals(uri.Host, "localhost", StringComparison.OrdinalIgnoreCase) || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip)));
    }
}
