namespace ServingGateway.Inference.Catalog;

/// <summary>A message of protobuf's text format: its fields in file order; a repeated field appears once per value.</summary>
/// <param name="Fields">The fields as written (both repeated forms, <c>x: 1 x: 2</c> and <c>x: [1, 2]</c>, give one field per value).</param>
/// <param name="Line">The line of the opening brace (1 for the file's top level).</param>
/// <param name="Column">The column of the opening brace.</param>
internal sealed record TextProtoMessage(IReadOnlyList<TextProtoField> Fields, int Line, int Column);
