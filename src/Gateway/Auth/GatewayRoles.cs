namespace ServingGateway.Auth;

/// <summary>What a caller may do.</summary>
[Flags]
internal enum GatewayRoles
{
    /// <summary>Nothing beyond the public endpoints (health, metrics).</summary>
    None = 0,

    /// <summary>Inference and model metadata, readiness and statistics.</summary>
    Infer = 1,

    /// <summary>The model repository: index, load, unload.</summary>
    Deploy = 2,

    /// <summary>Everything.</summary>
    Admin = Infer | Deploy | 4,
}
