using Microsoft.ML.OnnxRuntime;

namespace ServingGateway.FunctionalTests.Infrastructure;

/// <summary>Runs a model directly in ONNX Runtime, with the server's session settings, for reference outputs.</summary>
internal static class OrtReference
{
    /// <summary>Runs <paramref name="modelPath"/> on FP32 or INT64 inputs and returns every output as floats.</summary>
    public static Dictionary<string, float[]> Run(string modelPath, params (string Name, long[] Shape, Array Data)[] inputs)
    {
        using var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            IntraOpNumThreads = 1,
            InterOpNumThreads = 1,
        };
        using var session = new InferenceSession(modelPath, options);
        var values = new List<OrtValue>();
        try
        {
            foreach (var (_, shape, data) in inputs)
            {
                values.Add(data switch
                {
                    float[] f => OrtValue.CreateTensorValueFromMemory(f, shape),
                    long[] l => OrtValue.CreateTensorValueFromMemory(l, shape),
                    _ => throw new ArgumentException("FP32 or INT64 inputs only"),
                });
            }

            using var results = session.Run(new RunOptions(), inputs.Select(i => i.Name).ToArray(), values, session.OutputNames);
            return session.OutputNames.Zip(results).ToDictionary(p => p.First, p => p.Second.GetTensorDataAsSpan<float>().ToArray());
        }
        finally
        {
            foreach (var value in values)
            {
                value.Dispose();
            }
        }
    }
}
