namespace ServingGateway.LoadTool.Search;

/// <summary>One step of the search: the offered rate, what it measured, and whether it kept the SLO (and why not).</summary>
internal sealed record SearchStep(int Number, double Rate, StepMeasurement Measured, bool Passed, string Verdict);
