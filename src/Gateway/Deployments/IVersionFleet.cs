namespace ServingGateway.Deployments;

/// <summary>
/// The serving nodes seen as one (standalone: this process's model repository; an edge: every node, through the
/// repository extension): which versions of a model are loaded.
/// </summary>
internal interface IVersionFleet
{
    /// <summary>
    /// Makes exactly <paramref name="versions"/> of <paramref name="model"/> loaded and warmed on every serving node
    /// (in place of its version_policy, until changed); versions no longer named drain (requests in flight and queued
    /// finish) and are unloaded. Completes when every node serves them.
    /// </summary>
    /// <exception cref="Inference.Protocol.InferenceException">A version could not be loaded (400, with the reason) or a node was unreachable (503).</exception>
    Task ServeAsync(string model, IReadOnlyList<long> versions, CancellationToken cancellationToken);

    /// <summary>
    /// The version folders of <paramref name="model"/> on disk, highest first (empty for an unknown model): what a
    /// rollout may roll out; null when this fleet cannot tell before it loads one (an edge: a version missing on a node
    /// fails the rollout's load, with the node's reason).
    /// </summary>
    IReadOnlyList<long>? Stored(string model);

    /// <summary>The versions of <paramref name="model"/> ready on every serving node, highest first.</summary>
    Task<IReadOnlyList<long>> ReadyAsync(string model, CancellationToken cancellationToken);
}
