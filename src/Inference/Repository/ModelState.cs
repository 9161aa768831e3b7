namespace ServingGateway.Inference.Repository;

/// <summary>The state of a model version, as Triton's repository index reports it.</summary>
internal enum ModelState
{
    /// <summary>Loaded and serving.</summary>
    Ready,

    /// <summary>Not serving: failed to load, unloaded, or not selected; the reason says which.</summary>
    Unavailable,

    /// <summary>Being loaded.</summary>
    Loading,
}
