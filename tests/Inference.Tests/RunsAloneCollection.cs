namespace ServingGateway.Inference.Tests;

/// <summary>
/// Tests that measure the whole process (its resident memory, what a garbage collection finds): xunit runs
/// this collection after the others, with nothing beside it, so other tests' allocations do not blur them.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RunsAloneCollection
{
    public const string Name = "runs alone";
}
