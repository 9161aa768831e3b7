namespace ServingGateway.Deployments;

/// <summary>
/// The rollout a model is under, as <c>GET /admin/models</c> shows it in each model's <c>rollout</c> field. Optional:
/// the listing reads it with <c>IServiceProvider.GetService</c> and writes null for every model when none is
/// registered. Implemented by the rollouts part of issue 13.
/// </summary>
internal interface IRolloutStatusSource
{
    /// <summary>
    /// The current rollout of <paramref name="model"/>, or null when it has none. Serialized with System.Text.Json
    /// (snake_case property names) by its runtime type.
    /// </summary>
    object? Current(string model);
}
