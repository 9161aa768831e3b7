using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using ServingGateway.Inference.Http;

namespace ServingGateway.Auth;

/// <summary>
/// Authenticates every request but the public ones (health, metrics) by API key, sent as
/// <c>Authorization: Bearer KEY</c> or <c>X-Api-Key: KEY</c>, and checks the role the path needs:
/// deploy for /v2/repository, infer for the rest of /v2. 401 without a (known) key, 403 without the role,
/// both with JSON errors. Keys are compared as SHA-256 hashes; settings reload without a restart.
/// </summary>
internal sealed class ApiKeyMiddleware
{
    /// <summary>HttpContext.Items key of the caller's name: the key's name, or "anonymous".</summary>
    public const string CallerItem = "sg.caller";

    private readonly RequestDelegate _next;
    private readonly IOptionsMonitor<AuthOptions> _options;
    private readonly bool _anonymousByDefault;
    private Snapshot? _snapshot;

    public ApiKeyMiddleware(RequestDelegate next, IOptionsMonitor<AuthOptions> options, AnonymousDefault anonymousByDefault)
    {
        _next = next;
        _options = options;
        _anonymousByDefault = anonymousByDefault.Allowed;
    }

    public Task InvokeAsync(HttpContext context)
    {
        var needed = Required(context.Request);
        if (needed == GatewayRoles.None)
        {
            return _next(context);
        }

        var snapshot = Current();
        var key = Presented(context.Request);
        GatewayRoles roles;
        if (key is null)
        {
            if (!snapshot.AllowAnonymous)
            {
                context.Response.Headers.WWWAuthenticate = "Bearer";
                return ErrorResponse.WriteAsync(context, StatusCodes.Status401Unauthorized, "an API key is required: send Authorization: Bearer KEY or X-Api-Key: KEY");
            }

            context.Items[CallerItem] = "anonymous";
            roles = snapshot.AnonymousRoles;
        }
        else if (snapshot.Keys.TryGetValue(Hash(key), out var known))
        {
            context.Items[CallerItem] = known.Name;
            roles = known.Roles;
        }
        else
        {
            context.Response.Headers.WWWAuthenticate = "Bearer error=\"invalid_token\"";
            return ErrorResponse.WriteAsync(context, StatusCodes.Status401Unauthorized, "unknown API key");
        }

        if ((roles & needed) != needed)
        {
            return ErrorResponse.WriteAsync(context, StatusCodes.Status403Forbidden, $"this API key lacks the {needed.ToString().ToLowerInvariant()} role");
        }

        return _next(context);
    }

    /// <summary>The role a request needs; None for the public endpoints.</summary>
    internal static GatewayRoles Required(HttpRequest request)
    {
        var path = request.Path;
        if (path.StartsWithSegments("/v2/health", StringComparison.Ordinal) || !path.StartsWithSegments("/v2", StringComparison.Ordinal))
        {
            return GatewayRoles.None;
        }

        return path.StartsWithSegments("/v2/repository", StringComparison.Ordinal) ? GatewayRoles.Deploy : GatewayRoles.Infer;
    }

    /// <summary>The hex SHA-256 of a key, as configured.</summary>
    public static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    /// <summary>Parses role names; unknown names are errors.</summary>
    internal static GatewayRoles ParseRoles(IEnumerable<string> names, List<string>? errors, string where)
    {
        var roles = GatewayRoles.None;
        foreach (var name in names)
        {
            switch (name.ToLowerInvariant())
            {
                case "infer": roles |= GatewayRoles.Infer; break;
                case "deploy": roles |= GatewayRoles.Deploy; break;
                case "admin": roles |= GatewayRoles.Admin; break;
                default: errors?.Add($"{where}: unknown role '{name}' (infer, deploy or admin)"); break;
            }
        }

        return roles;
    }

    private static string? Presented(HttpRequest request)
    {
        var authorization = request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && authorization.Length > 7)
        {
            return authorization[7..].Trim();
        }

        var header = request.Headers["X-Api-Key"].ToString();
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
            options.AllowAnonymous ?? _anonymousByDefault,
            ParseRoles(options.AnonymousRolesOrAll, null, "Auth:AnonymousRoles"),
            options.Keys.ToDictionary(k => k.Sha256.ToLowerInvariant(), k => (k.Name, ParseRoles(k.Roles, null, "Auth:Keys")), StringComparer.Ordinal));
        Volatile.Write(ref _snapshot, snapshot);
        return snapshot;
    }

    private sealed record Snapshot(AuthOptions Source, bool AllowAnonymous, GatewayRoles AnonymousRoles, Dictionary<string, (string Name, GatewayRoles Roles)> Keys);

    /// <summary>Whether anonymous callers are allowed when Auth:AllowAnonymous is unset (standalone on loopback).</summary>
    internal sealed record AnonymousDefault(bool Allowed);
}
