namespace ServingGateway.FunctionalTests.Infrastructure;

/// <summary>
/// Tests whose figures depend on timing (a rate over a few seconds across several processes): xunit runs
/// this collection after the others, with nothing beside it, so two busy cores do not starve the processes
/// under test.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RunsAloneCollection
{
    public const string Name = "runs alone";
}
