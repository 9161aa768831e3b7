using Microsoft.Extensions.Options;
using ServingGateway.Inference.Common;

namespace ServingGateway.Auth;

/// <summary>
/// The node role's authentication: every request but health (endpoints whose <see cref="RequiredRole"/> is
/// public) must present one of <c>Node:Keys</c>, as edges do with <c>Edge:NodeKey</c>. Without keys, a
/// node serves only while it listens on loopback addresses alone or with <c>Node:AllowUnauthenticated</c>
/// (start-up refuses the rest). Roles are the edge's business; the node audits repository calls and 401s.
/// </summary>
internal sealed class NodeKeyMiddleware
{
    private readonly RequestDelegate _next;
    private readonly IOptionsMonitor<NodeOptions> _options;
    private readonly ListenerScope _scope;
    private readonly AuditLog _audit;
    private KeyTable? _keys;

    public NodeKeyMiddleware(RequestDelegate next, IOptionsMonitor<NodeOptions> options, ListenerScope scope, AuditLog audit)
    {
        _next = next;
        _options = options;
        _scope = scope;
        _audit = audit;
    }

    public Task InvokeAsync(HttpContext context)
    {
        var needed = context.GetEndpoint()?.Metadata.GetMetadata<RequiredRole>()?.Role;
        if (needed == GatewayRoles.None)
        {
            return _next(context);
        }

        var options = _options.CurrentValue;
        string caller;
        if (options.Keys.Count == 0 && (options.AllowUnauthenticated || _scope.LoopbackOnly))
        {
            caller = "anonymous";
        }
        else if (ApiKeyMiddleware.Presented(context.Request) is { } key && Names(options).TryGetValue(ApiKeyMiddleware.Hash(key), out var name))
        {
            caller = name;
        }
        else
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
            _audit.Refused(context, StatusCodes.Status401Unauthorized, "unknown-node-caller", needed);
            return ErrorResponse.WriteAsync(context, StatusCodes.Status401Unauthorized, "this node requires a node key (Node:Keys): edges send Edge:NodeKey");
        }

        return ApiKeyMiddleware.IsAudited(needed) ? _audit.ServeAsync(context, _next, caller, needed!.Value) : _next(context);
    }

    private Dictionary<string, string> Names(NodeOptions options)
    {
        var keys = Volatile.Read(ref _keys);
        if (keys is null || !ReferenceEquals(keys.Source, options))
        {
            keys = new KeyTable(options, options.Keys.ToDictionary(k => k.Sha256.ToLowerInvariant(), k => k.Name, StringComparer.Ordinal));
            Volatile.Write(ref _keys, keys);
        }

        return keys.Names;
    }

    // Node:Keys by hash, rebuilt when the options reload.
    private sealed record KeyTable(NodeOptions Source, Dictionary<string, string> Names);
}
