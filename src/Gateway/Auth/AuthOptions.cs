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
    /// the standalone role listening on loopback addresses alone (the README's first command), refused
    /// otherwise. The start-up log says which.
    /// </summary>
    public bool? AllowAnonymous { get; set; }

    /// <summary>
    /// What anonymous callers may do when they are allowed: infer, deploy, admin. Unset: all three. The default
    /// is not an initial list, because configuration binding adds to a list instead of replacing it: a list
    /// of ["infer"] would have kept deploy and admin.
    /// </summary>
    public List<string>? AnonymousRoles { get; set; }

    /// <summary>The roles anonymous callers get: <see cref="AnonymousRoles"/>, or all when unset.</summary>
    internal IReadOnlyList<string> AnonymousRolesOrAll => AnonymousRoles ?? ["infer", "deploy", "admin"];

    /// <summary>The API keys.</summary>
    public List<ApiKeyOptions> Keys { get; set; } = [];

    /// <summary>Lists every invalid setting.</summary>
    public IEnumerable<string> Validate()
    {
        var errors = new List<string>();
        ApiKeyMiddleware.ParseRoles(AnonymousRolesOrAll, errors, "Auth:AnonymousRoles");
        for (var i = 0; i < Keys.Count; i++)
        {
            var key = Keys[i];
            var where = $"Auth:Keys:{i}";
            if (string.IsNullOrWhiteSpace(key.Name))
            {
                errors.Add($"{where}: Name is required");
            }

            if (key.Sha256.Length != 64 || !key.Sha256.All(Uri.IsHexDigit))
            {
                errors.Add($"{where}: Sha256 must be the key's SHA-256 as 64 hex digits (printf %s \"$KEY\" | sha256sum)");
            }

            if (key.Roles.Count == 0)
            {
                errors.Add($"{where}: Roles must name at least one of infer, deploy, admin");
            }

            ApiKeyMiddleware.ParseRoles(key.Roles, errors, where);
        }

        foreach (var duplicate in Keys.GroupBy(k => k.Sha256.ToLowerInvariant()).Where(g => g.Count() > 1))
        {
            errors.Add($"Auth:Keys: the same key is configured twice ({string.Join(", ", duplicate.Select(k => k.Name))})");
        }

        return errors;
    }
}

/// <summary>One API key.</summary>
public sealed class ApiKeyOptions
{
    /// <summary>A name for logs and rate limits (never the key).</summary>
    public string Name { get; set; } = "";

    /// <summary>The key's SHA-256, 64 hex digits.</summary>
    public string Sha256 { get; set; } = "";

    /// <summary>infer, deploy and/or admin.</summary>
    public List<string> Roles { get; set; } = [];
}
