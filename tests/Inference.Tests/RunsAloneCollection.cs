namespace ServingGateway.Inference.Tests;

/// <summary>
/// Tests that measure the process (retained memory): xunit runs this collection after the others, with
/// nothing beside it, so no other test allocates while they measure.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RunsAloneCollection
{
    public const string Name = "runs alone";
}
