using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.Extensions.Options;
using ServingGateway.Auth;

namespace ServingGateway.Hosting;

/// <summary>
/// Runs once the server has bound its addresses: decides <see cref="ListenerScope"/> from them and refuses to
/// go on (a <see cref="StartupException"/>, exit 2) when nobody could call the server (no API keys and anonymous
/// callers refused) or when a node listens beyond loopback without <c>Node:Keys</c> nor
/// <c>Node:AllowUnauthenticated</c>.
/// </summary>
internal sealed class ListenerCheck(
    GatewayRole role, ListenerScope scope, IServer server, IConfiguration configuration, IServiceProvider services) : IHostedLifecycleService
{
    public Task StartedAsync(CancellationToken cancellationToken)
    {
        scope.Resolve(server, configuration);
        var errors = new List<string>();
        var where = string.Join(", ", scope.Addresses);
        if (role == GatewayRole.Node)
        {
            var node = services.GetRequiredService<IOptionsMonitor<NodeOptions>>().CurrentValue;
            if (node.Keys.Count == 0 && !node.AllowUnauthenticated && !scope.LoopbackOnly)
            {
                errors.Add($"a node listening beyond loopback ({where}) needs Node:Keys, the SHA-256 of the keys its edges send (Edge:NodeKey), or Node:AllowUnauthenticated true on a trusted network; see docs/SECURITY.md");
            }
        }
        else
        {
            var auth = services.GetRequiredService<IOptionsMonitor<AuthOptions>>().CurrentValue;
            if (auth.Keys.Count == 0 && !(auth.AllowAnonymous ?? (role == GatewayRole.Standalone && scope.LoopbackOnly)))
            {
                errors.Add($"no API keys (Auth:Keys) and anonymous callers are refused ({(auth.AllowAnonymous is null ? $"the default beyond loopback: listening on {where}" : "Auth:AllowAnonymous false")}): nobody could call the server. Add keys or set Auth:AllowAnonymous true; see docs/SECURITY.md");
            }
        }

        if (errors.Count > 0)
        {
            throw new StartupException("ServingGateway: " + string.Join(Environment.NewLine + "ServingGateway: ", errors));
        }

        return Task.CompletedTask;
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
