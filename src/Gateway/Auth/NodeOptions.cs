namespace ServingGateway.Auth;

/// <summary>
/// The node role's settings, bound from the configuration section <c>Node</c>: its id and the keys its
/// callers (edges) must present. Keys reload when the <c>--config</c> file changes.
/// </summary>
public sealed class NodeOptions
{
    /// <summary>The configuration section these options bind from.</summary>
    public const string SectionName = "Node";

    /// <summary>The id in X-Served-By (roles node and standalone); default machine-name:port.</summary>
    public string? Id { get; set; }

    /// <summary>
    /// Keys an edge presents (<c>Edge:NodeKey</c>, sent as <c>Authorization: Bearer KEY</c>), as SHA-256
    /// hashes with names, the format of <c>Auth:Keys</c> without roles. Checked on every endpoint of a node
    /// but health. None: only a node listening on loopback addresses alone (or with
    /// <see cref="AllowUnauthenticated"/>) serves.
    /// </summary>
    public List<ApiKeyOptions> Keys { get; set; } = [];

    /// <summary>Serve callers without a key on non-loopback addresses (a trusted network). Default false: refused at start.</summary>
    public bool AllowUnauthenticated { get; set; }

    /// <summary>Lists every invalid setting.</summary>
    public IEnumerable<string> Validate()
    {
        var errors = new List<string>();
        ApiKeyOptions.Validate(Keys, "Node:Keys", withRoles: false, errors);
        return errors;
    }
}
