namespace ServingGateway.TestSupport;

/// <summary>
/// Tests whose figures depend on timing or on the whole process (a rate over a few seconds, a latency
/// percentile on a real clock, resident memory, what a garbage collection finds): xunit runs this collection
/// after the others in the assembly, with nothing beside it, so two busy cores and other tests' allocations
/// do not blur what they measure.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RunsAloneCollection
{
    public const string Name = "runs alone";
}
