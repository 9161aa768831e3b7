using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using ServingGateway.Inference.Common;
using ServingGateway.Inference.Serving;
using ServingGateway.Observability;

namespace ServingGateway.Auth;

/// <summary>
/// Authorizes every request by the endpoint the router selected (runs after UseRouting): the endpoint's
/// <see cref="RequiredRole"/> metadata says what the caller needs, never the path text, so every spelling the
/// router accepts (case, encoding, slashes) gets one decision. Callers present an API key as
/// <c>Authorization: Bearer KEY</c> or <c>X-Api-Key: KEY</c>; 401 without a (known) key, 403 without the role,
/// both with JSON errors, audited and counted. No endpoint (an unknown path): nothing to authorize, the
/// router answers 404. Keys are compared as SHA-256 hashes; settings reload without a restart.
/// </summary>
internal sealed class ApiKeyMiddleware
{
    /// <summary>HttpContext.Items key of the caller's name: the key's name, or "anonymous".</summary>
    public const string CallerItem = "sg.caller";

    private readonly RequestDelegate _next;
    private readonly IOptionsMonitor<AuthOptions> _options;
    private readonly ListenerScope _scope;
    private readonly AuditLog _audit;
    private readonly bool _standalone;
    private Snapshot? _snapshot;

    public ApiKeyMiddleware(RequestDelegate next, IOptionsMonitor<AuthOptions> options, ListenerScope scope, AuditLog audit, AnonymousDefault anonymousDefault)
    {
        _next = next;
        _options = options;
        _scope = scope;
        _audit = audit;
        _standalone = anonymousDefault.Standalone;
    }

    public Task InvokeAsync(HttpContext context)
    {
        Task? answered;
        GatewayRoles? audited;
        using (var span = GatewayTelemetry.Source.StartChild("auth"))
        {
            answered = Authorize(context, out audited);
            if (span is not null)
            {
                span.SetTag("auth.caller", context.Items[CallerItem] as string);
                if (answered is not null)
                {
                    span.SetTag("http.response.status_code", context.Response.StatusCode);
                }
            }
        }

        return answered ?? (audited is { } role ? _audit.ServeAsync(context, _next, (string)context.Items[CallerItem]!, role) : _next(context));
    }

    // The decision for the endpoint the router chose: null to go on (audited: the role an audited call needs), or the
    // refusal being written.
    private Task? Authorize(HttpContext context, out GatewayRoles? audited)
    {
        audited = null;
        var endpoint = context.GetEndpoint();
        if (endpoint is null)
        {
            return null;
        }

        var snapshot = Current();

        // Null: an endpoint the framework made (405 wrong method) that serves nothing: any known caller.
        var needed = endpoint.Metadata.GetMetadata<MetricsEndpointMetadata>() is not null
            ? snapshot.MetricsRole ?? (_scope.LoopbackOnly ? GatewayRoles.None : GatewayRoles.Admin)
            : endpoint.Metadata.GetMetadata<RequiredRole>()?.Role;
        if (needed == GatewayRoles.None)
        {
            return null;
        }

        var key = Presented(context.Request);
        string caller;
        GatewayRoles roles;
        if (key is null)
        {
            var allowAnonymous = snapshot.AllowAnonymous ?? (_standalone && _scope.LoopbackOnly);
            if (!allowAnonymous)
            {
                context.Response.Headers.WWWAuthenticate = "Bearer";
                _audit.Refused(context, StatusCodes.Status401Unauthorized, "anonymous", needed);
                return ErrorResponse.WriteAsync(context, StatusCodes.Status401Unauthorized, "an API key is required: send Authorization: Bearer KEY or X-Api-Key: KEY");
            }

            caller = "anonymous";

            // Set explicitly, anonymous callers may infer; the loopback developer default may do everything.
            roles = snapshot.AnonymousRoles ?? (snapshot.AllowAnonymous == true ? GatewayRoles.Infer : GatewayRoles.Admin);
        }
        else if (snapshot.Keys.TryGetValue(Hash(key), out var known))
        {
            (caller, roles) = known;
        }
        else
        {
            context.Response.Headers.WWWAuthenticate = "Bearer error=\"invalid_token\"";
            _audit.Refused(context, StatusCodes.Status401Unauthorized, "unknown-key", needed);
            return ErrorResponse.WriteAsync(context, StatusCodes.Status401Unauthorized, "unknown API key");
        }

        if (needed is { } role && (roles & role) != role)
        {
            _audit.Refused(context, StatusCodes.Status403Forbidden, caller, role);
            return ErrorResponse.WriteAsync(context, StatusCodes.Status403Forbidden, caller == "anonymous"
                ? $"anonymous callers lack the {RequiredRole.Name(role)} role: send an API key that has it"
                : $"this API key lacks the {RequiredRole.Name(role)} role");
        }

        context.Items[CallerItem] = caller;
        audited = IsAudited(needed) ? needed : null;
        return null;
    }

    /// <summary>Repository and admin calls are audited, whatever their outcome.</summary>
    internal static bool IsAudited(GatewayRoles? role) => role is { } r && (r & ~GatewayRoles.Infer) != 0;

    /// <summary>The hex SHA-256 of a key, as configured.</summary>
    public static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    /// <summary>Parses role names; unknown names are errors.</summary>
    internal static GatewayRoles ParseRoles(IEnumerable<string> names, List<string>? errors, string where)
    {
        var roles = GatewayRoles.None;
        foreach (var name in names)
        {
            if (RequiredRole.Parse(name) is { } role)
            {
                roles |= role;
            }
            else
            {
                errors?.Add($"{where}: unknown role '{name}' (infer, deploy or admin)");
            }
        }

        return roles;
    }

    /// <summary>The header that carries a key when <c>Authorization</c> does not.</summary>
    internal const string KeyHeader = "X-Api-Key";

    /// <summary>Every header a key may come in: what the edge strips before forwarding, and what is passed on with a forwarded admin call.</summary>
    internal static readonly string[] KeyHeaders = ["Authorization", KeyHeader];

    /// <summary>The key a request presents: <c>Authorization: Bearer KEY</c>, else <c>X-Api-Key</c>; null when none.</summary>
    internal static string? Presented(HttpRequest request)
    {
        var authorization = request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && authorization.Length > 7)
        {
            return authorization[7..].Trim();
        }

        var header = request.Headers[KeyHeader].ToString();
        return header.Length > 0 ? header : null;
    }

    // The options compiled into lookups, rebuilt when the configuration changes.
    private Snapshot Current()
    {
        var options = _options.CurrentValue;
        var snapshot = Volatile.Read(ref _snapshot);
        if (snapshot is not null && ReferenceEquals(snapshot.Source, options))
        {
            return snapshot;
        }

        snapshot = new Snapshot(
            options,
            options.AllowAnonymous,
            options.AnonymousRoles is { } anonymous ? ParseRoles(anonymous, null, "Auth:AnonymousRoles") : null,
            options.MetricsRole is { } metrics ? AuthOptions.ParseMetricsRole(metrics) : null,
            options.Keys.ToDictionary(k => k.Sha256.ToLowerInvariant(), k => (k.Name, ParseRoles(k.Roles, null, "Auth:Keys")), StringComparer.Ordinal));
        Volatile.Write(ref _snapshot, snapshot);
        return snapshot;
    }

    private sealed record Snapshot(
        AuthOptions Source, bool? AllowAnonymous, GatewayRoles? AnonymousRoles, GatewayRoles? MetricsRole, Dictionary<string, (string Name, GatewayRoles Roles)> Keys);

    /// <summary>Whether this is the standalone role, where anonymous callers are allowed by default on loopback.</summary>
    internal sealed record AnonymousDefault(bool Standalone);
}
