namespace ServingGateway.Deployments.Rollouts;

/// <summary>
/// Which process drives the rollouts. Alone (no Redis) it is always this one (<see cref="LocalRolloutLease"/>); with
/// several edges sharing Redis it is the holder of a lease with an expiry (<see cref="RedisRolloutLease"/>): exactly
/// one drives, and when it stops renewing, another takes over once the lease expires.
/// </summary>
internal interface IRolloutLease
{
    /// <summary>Takes the lease, or renews it when this process holds it; true when this process holds it now. Never throws (false when the store cannot answer).</summary>
    bool TryHold();

    /// <summary>Lets the lease go at once (stopping), so that another process can take it without waiting for the expiry.</summary>
    void Release();

    /// <summary>The address of the process that holds the lease (where admin calls go), or null when none holds it or it cannot be read.</summary>
    string? HolderUrl();

    /// <summary>The token that proves holding (written with every save, <see cref="RedisRolloutStore"/>); null when there is no shared lease.</summary>
    string? Token { get; }
}

/// <summary>One process, nothing shared: this one always drives.</summary>
internal sealed class LocalRolloutLease : IRolloutLease
{
    public bool TryHold() => true;

    public void Release()
    {
    }

    public string? HolderUrl() => null;

    public string? Token => null;
}
