namespace ServingGateway.Deployments;

/// <summary>
/// The live traffic splits, one per model under a deployment (a model without one is served as today: the route's
/// version, else the highest ready). Read on every infer request; set by the rollout controller.
/// </summary>
internal interface ITrafficSplits
{
    /// <summary>The model's split; null when it has none.</summary>
    TrafficSplit? Get(string model);

    /// <summary>Every model's split.</summary>
    IReadOnlyDictionary<string, TrafficSplit> All { get; }

    /// <summary>Replaces the model's split: requests that start after the call follow it.</summary>
    void Set(string model, TrafficSplit split);

    /// <summary>Removes the model's split.</summary>
    void Remove(string model);
}
