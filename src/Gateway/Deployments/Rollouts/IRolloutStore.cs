namespace ServingGateway.Deployments.Rollouts;

/// <summary>
/// Where the deployments' state lives (every split the rollouts set and every model's latest rollout): a JSON file
/// beside the repository (<see cref="RolloutStore"/>), or Redis when <c>--redis</c> is set, shared by every edge
/// (<see cref="RedisRolloutStore"/>). Written whole on every change by the process that drives the rollouts.
/// </summary>
internal interface IRolloutStore
{
    /// <summary>Where, for logs: the file's path, or Redis's endpoints and key.</summary>
    string Describe { get; }

    /// <summary>The splits and rollouts stored; none when nothing is.</summary>
    /// <exception cref="InvalidDataException">What is stored is not a state document (with the reason).</exception>
    DeploymentsState Load();

    /// <summary>Replaces the stored state with <paramref name="splits"/> and <paramref name="rollouts"/>.</summary>
    /// <exception cref="IOException">It could not be written (the old state stays).</exception>
    /// <exception cref="RolloutLeaseLostException">Another process drives the rollouts now: nothing was written.</exception>
    void Save(IReadOnlyDictionary<string, TrafficSplit> splits, IEnumerable<Rollout> rollouts);

    /// <summary>
    /// A number that changes whenever the stored state does, read cheaply, for a process that follows another's
    /// rollouts (<see cref="RolloutDriver"/> polls it); never throws: null when it cannot be read now.
    /// </summary>
    long? Revision();
}

/// <summary>The stored splits and rollouts.</summary>
internal sealed record DeploymentsState(Dictionary<string, TrafficSplit> Splits, List<Rollout> Rollouts);

/// <summary>The lease was held by another process when this one meant to write as the rollouts' driver.</summary>
internal sealed class RolloutLeaseLostException(string message) : Exception(message);
