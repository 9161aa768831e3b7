namespace ServingGateway.Auth;

/// <summary>
/// API keys, bound from the configuration section <c>Auth</c>. Keys are kept as SHA-256 hashes, never in
/// the clear: <c>printf %s "$KEY" | sha256sum</c>.
/// </summary>
public sealed class AuthOptions
{
    /// <summary>The configuration section these options bind from.</summary>
    public const string SectionName = "Auth";

    /// <summary>
    /// Whether requests without a key are served, with <see cref="AnonymousRoles"/>. Unset: allowed only in
    /// the standalone role when every address Kestrel bound is a loopback address (the README's first
    /// command), refused otherwise. The start-up log says which. Refused with no <see cref="Keys"/> is a
    /// start-up error: nobody could call the server.
    /// </summary>
    public bool? AllowAnonymous { get; set; }

    /// <summary>
    /// What anonymous callers may do when they are allowed: infer, deploy, admin. Default: <c>infer</c> when
    /// <see cref="AllowAnonymous"/> is set true; every role under the loopback developer default.
    /// </summary>
    public List<string>? AnonymousRoles { get; set; }

    /// <summary>
    /// The role <c>/metrics</c> and the status page (<c>/status</c>) need: <c>public</c>, <c>infer</c>, <c>deploy</c> or <c>admin</c>. Default:
    /// public when the server listens on loopback addresses only, <c>admin</c> otherwise.
    /// </summary>
    public string? MetricsRole { get; set; }

    /// <summary>The API keys.</summary>
    public List<ApiKeyOptions> Keys { get; set; } = [];

    /// <summary>Lists every invalid setting.</summary>
    public IEnumerable<string> Validate()
    {
        var errors = new List<string>();
        ApiKeyMiddleware.ParseRoles(AnonymousRoles ?? [], errors, "Auth:AnonymousRoles");
        if (MetricsRole is { } metrics && ParseMetricsRole(metrics) is null)
        {
            errors.Add($"Auth:MetricsRole must be public, infer, deploy or admin; it is '{metrics}'");
        }

        if (AllowAnonymous == false && Keys.Count == 0)
        {
            errors.Add("Auth:AllowAnonymous is false and Auth:Keys is empty: nobody could call the server. Add keys (docs/SECURITY.md)");
        }

        ApiKeyOptions.Validate(Keys, "Auth:Keys", withRoles: true, errors);
        return errors;
    }

    /// <summary>The role of a <see cref="MetricsRole"/> value (public: None); null when it names none.</summary>
    internal static GatewayRoles? ParseMetricsRole(string value) =>
        string.Equals(value, "public", StringComparison.OrdinalIgnoreCase) ? GatewayRoles.None : RequiredRole.Parse(value);
}

/// <summary>One API key.</summary>
public sealed class ApiKeyOptions
{
    /// <summary>A name for logs and rate limits (never the key).</summary>
    public string Name { get; set; } = "";

    /// <summary>The key's SHA-256, 64 hex digits.</summary>
    public string Sha256 { get; set; } = "";

    /// <summary>infer, deploy and/or admin (API keys only; node keys have no roles).</summary>
    public List<string> Roles { get; set; } = [];

    /// <summary>Adds what is wrong with <paramref name="keys"/> (section <paramref name="section"/>) to <paramref name="errors"/>.</summary>
    internal static void Validate(List<ApiKeyOptions> keys, string section, bool withRoles, List<string> errors)
    {
        for (var i = 0; i < keys.Count; i++)
        {
            var key = keys[i];
            var where = $"{section}:{i}";
            if (string.IsNullOrWhiteSpace(key.Name))
            {
                errors.Add($"{where}: Name is required");
            }

            if (key.Sha256.Length != 64 || !key.Sha256.All(Uri.IsHexDigit))
            {
                errors.Add($"{where}: Sha256 must be the key's SHA-256 as 64 hex digits (printf %s \"$KEY\" | sha256sum)");
            }

            if (withRoles && key.Roles.Count == 0)
            {
                errors.Add($"{where}: Roles must name at least one of infer, deploy, admin");
            }

            ApiKeyMiddleware.ParseRoles(key.Roles, errors, where);
        }

        foreach (var duplicate in keys.GroupBy(k => k.Sha256.ToLowerInvariant()).Where(g => g.Count() > 1))
        {
            errors.Add($"{section}: the same key is configured twice ({string.Join(", ", duplicate.Select(k => k.Name))})");
        }
    }
}
