namespace ServingGateway.Inference.Drift;

/// <summary>The values a sampled request gives each watched input (<see cref="DriftInput.Copy"/>), for its first <paramref name="Rows"/> rows.</summary>
internal sealed record DriftSample(int Rows, double[][] Values);
