namespace ServingGateway.Inference;

/// <summary>
/// Settings of the inference node, bound from the configuration section <c>Inference</c>.
/// Per-model settings in <c>models/&lt;name&gt;/config.json</c> override the defaults here.
/// </summary>
public sealed class InferenceOptions
{
    /// <summary>The configuration section these options bind from.</summary>
    public const string SectionName = "Inference";

    /// <summary>
    /// The model repository folder (Triton's layout: <c>&lt;name&gt;/&lt;version&gt;/model.onnx</c>).
    /// Relative paths are taken from the current directory. Switch: <c>--models</c>. Default <c>models</c>.
    /// </summary>
    public string ModelRepository { get; set; } = "models";

    /// <summary>Largest accepted request body in bytes; larger bodies get a 413. Default 64 MiB; 1 KiB to 2 GiB.</summary>
    public long MaxRequestBodyBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>ONNX Runtime sessions per model version when config.json does not say. Default 2; 1 to 64.</summary>
    /// <remarks>
    /// Two single-threaded sessions beat one two-threaded session on a 2-core CPU (docs/BENCHMARKS.md).
    /// </remarks>
    public int DefaultInstances { get; set; } = 2;

    /// <summary>ONNX Runtime intra-op threads per session when config.json does not say. Default 1; 0 lets ONNX Runtime choose.</summary>
    public int DefaultIntraOpThreads { get; set; } = 1;

    /// <summary>Execution provider when config.json does not say: auto, cpu or cuda. Default auto.</summary>
    public ExecutionProviderKind DefaultExecutionProvider { get; set; } = ExecutionProviderKind.Auto;

    /// <summary>
    /// max_batch_size for a model whose config.json does not set it and whose inputs and outputs all have a
    /// dynamic first dimension (Triton's default, 4); other models get 0. 0 to 1024.
    /// </summary>
    public int DefaultMaxBatchSize { get; set; } = 4;

    /// <summary>Lists every invalid setting; empty when all are valid.</summary>
    public IEnumerable<string> Validate()
    {
        if (string.IsNullOrWhiteSpace(ModelRepository))
        {
            yield return "Inference:ModelRepository (--models) must name a folder.";
        }

        if (MaxRequestBodyBytes is < 1024 or > int.MaxValue)
        {
            yield return $"Inference:MaxRequestBodyBytes must be from 1024 to {int.MaxValue}; it is {MaxRequestBodyBytes}.";
        }

        if (DefaultInstances is < 1 or > 64)
        {
            yield return $"Inference:DefaultInstances must be from 1 to 64; it is {DefaultInstances}.";
        }

        if (DefaultIntraOpThreads is < 0 or > 1024)
        {
            yield return $"Inference:DefaultIntraOpThreads must be from 0 to 1024; it is {DefaultIntraOpThreads}.";
        }

        if (!Enum.IsDefined(DefaultExecutionProvider))
        {
            yield return $"Inference:DefaultExecutionProvider must be auto, cpu or cuda; it is {DefaultExecutionProvider}.";
        }

        if (DefaultMaxBatchSize is < 0 or > 1024)
        {
            yield return $"Inference:DefaultMaxBatchSize must be from 0 to 1024; it is {DefaultMaxBatchSize}.";
        }
    }
}
