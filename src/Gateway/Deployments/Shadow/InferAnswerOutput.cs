namespace ServingGateway.Deployments.Shadow;

/// <summary>
/// One output of an infer answer, decoded for comparison: its datatype and shape as the answer states them, and its
/// elements as doubles in row-major order (BOOL as 0/1; FP32, FP16 and BF16 exactly as the model produced them, so the
/// JSON and binary forms of one tensor decode alike). A BYTES output has no <see cref="Values"/>: its
/// <see cref="Bytes"/> hold the elements as the binary extension lays them out (4-byte little-endian length, then the bytes).
/// </summary>
internal sealed record InferAnswerOutput(string DataType, long[] Shape, double[] Values, byte[]? Bytes = null);
