namespace ServingGateway.LoadTool.Payloads;

/// <summary>An input or output of a model's metadata; -1 in <see cref="Shape"/> is a dynamic dimension.</summary>
internal sealed record TensorMetadata(string Name, string Datatype, long[] Shape);
