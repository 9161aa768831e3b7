using System.Text.Json;

namespace ServingGateway.Inference.Tensors;

/// <summary>
/// The inputs and outputs of a loaded model version and how it batches.
/// </summary>
internal sealed class ModelSignature
{
    public ModelSignature(TensorSpec[] inputs, TensorSpec[] outputs, int maxBatchSize)
    {
        Inputs = inputs;
        Outputs = outputs;
        MaxBatchSize = maxBatchSize;
        InputsByName = [.. Enumerable.Range(0, inputs.Length).OrderBy(i => inputs[i].Name, StringComparer.Ordinal)];
    }

    /// <summary>Input indexes in ordinal order of name (the order the cache key takes them in).</summary>
    public int[] InputsByName { get; }

    /// <summary>The model's inputs, in the model's order; every one is required.</summary>
    public TensorSpec[] Inputs { get; }

    /// <summary>The model's outputs, in the model's order.</summary>
    public TensorSpec[] Outputs { get; }

    /// <summary>
    /// Triton's max_batch_size: 0 when the model does not batch (shapes are the full shapes); otherwise
    /// dimension 0 of every input and output is the batch dimension and may not exceed this.
    /// </summary>
    public int MaxBatchSize { get; }

    /// <summary>The index of the input whose name the reader's current string token holds, or -1.</summary>
    public int FindInput(ref Utf8JsonReader reader) => Find(Inputs, ref reader);

    /// <summary>The index of the output whose name the reader's current string token holds, or -1.</summary>
    public int FindOutput(ref Utf8JsonReader reader) => Find(Outputs, ref reader);

    /// <summary>The index of the input named <paramref name="name"/>, or -1.</summary>
    public int FindInput(string name) => Array.FindIndex(Inputs, s => string.Equals(s.Name, name, StringComparison.Ordinal));

    /// <summary>The index of the output named <paramref name="name"/>, or -1.</summary>
    public int FindOutput(string name) => Array.FindIndex(Outputs, s => string.Equals(s.Name, name, StringComparison.Ordinal));

    private static int Find(TensorSpec[] specs, ref Utf8JsonReader reader)
    {
        for (var i = 0; i < specs.Length; i++)
        {
            if (reader.ValueTextEquals(specs[i].Utf8Name))
            {
                return i;
            }
        }

        return -1;
    }
}
