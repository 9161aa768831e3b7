using ServingGateway.Inference;

namespace ServingGateway.Observability;

/// <summary>One model version on the status page: its last reading and its samples, oldest first.</summary>
internal sealed record StatusSeries(VersionReading Latest, StatusSample[] Samples);
