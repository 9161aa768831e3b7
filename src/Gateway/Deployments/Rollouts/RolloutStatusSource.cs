using System.Text.Json;

namespace ServingGateway.Deployments.Rollouts;

/// <summary>The model's latest rollout for <c>GET /admin/models</c>: the same JSON <c>GET .../rollouts/current</c> answers (<see cref="RolloutDriver.Describe"/>).</summary>
internal sealed class RolloutStatusSource(RolloutDriver driver) : IRolloutStatusSource
{
    public object? Current(string model) =>
        driver.Describe(model) is { } json ? JsonDocument.Parse(json).RootElement.Clone() : null;
}
