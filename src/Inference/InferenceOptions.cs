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

    /// <summary>
    /// Request body bytes all requests together may hold in memory while they arrive, in MiB; a request that
    /// would pass it gets a 503 with Retry-After. Unset (the default): a quarter of the memory available to the
    /// process (physical memory, or the container's limit), and never less than two largest bodies (a body that
    /// arrives in several segments is copied into one at the end). 1 to 1048576, at least two
    /// <see cref="MaxRequestBodyBytes"/>.
    /// </summary>
    public int? MaxBufferedRequestMb { get; set; }

    /// <summary>The most dimensions a request's shape may have; longer shapes get a 400 while still being read. Default 8; 1 to 64.</summary>
    public int MaxRank { get; set; } = Protocol.InferRequestReader.DefaultMaxRank;

    /// <summary>
    /// On SIGTERM (or any stop), how long requests already accepted may take to finish, in seconds, while
    /// readiness answers 503 and new connections are refused. Default 20; 0 to 3600.
    /// </summary>
    public int ShutdownDrainSeconds { get; set; } = 20;

    /// <summary>
    /// The most model versions resident (holding sessions) at once; unset (the default): no limit, every version
    /// is loaded at start and stays resident. When set (or <see cref="MaxResidentMb"/> is), a request for a
    /// version that is not resident loads it, and the least recently used idle version is evicted to make room;
    /// with none idle the request gets a 503 with Retry-After (docs/CONFIGURATION.md). 1 to 100000.
    /// </summary>
    public int? MaxResidentModels { get; set; }

    /// <summary>
    /// The most estimated memory, in MiB, of the resident versions (each counts its model file's size times its
    /// instances times <see cref="Residency.ModelHostFactory.MemoryFactor"/>); unset (the default): no limit.
    /// Works as <see cref="MaxResidentModels"/> does; both may be set. 1 to 16777216.
    /// </summary>
    public int? MaxResidentMb { get; set; }

    /// <summary>The budget of buffered request bytes in force: <see cref="MaxBufferedRequestMb"/>, or the rule it documents when unset.</summary>
    public long BufferedRequestBudgetBytes()
    {
        const long MiB = 1024 * 1024;
        if (MaxBufferedRequestMb is { } mb)
        {
            return mb * MiB;
        }

        var quarter = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 4 / MiB * MiB;
        return Math.Max(quarter, 2 * ((MaxRequestBodyBytes + MiB - 1) / MiB * MiB));
    }

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

        if (MaxBufferedRequestMb is { } buffered && (buffered < 1 || buffered > 1_048_576 || buffered * 1024L * 1024 < 2 * MaxRequestBodyBytes))
        {
            yield return $"Inference:MaxBufferedRequestMb must be from 1 to 1048576 and hold two largest bodies (2 x Inference:MaxRequestBodyBytes {MaxRequestBodyBytes}); it is {buffered}.";
        }

        if (MaxRank is < 1 or > 64)
        {
            yield return $"Inference:MaxRank must be from 1 to 64; it is {MaxRank}.";
        }

        if (ShutdownDrainSeconds is < 0 or > 3600)
        {
            yield return $"Inference:ShutdownDrainSeconds must be from 0 to 3600; it is {ShutdownDrainSeconds}.";
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

        if (MaxResidentModels is < 1 or > 100_000)
        {
            yield return $"Inference:MaxResidentModels must be from 1 to 100000 (or unset: no limit); it is {MaxResidentModels}.";
        }

        if (MaxResidentMb is < 1 or > 16_777_216)
        {
            yield return $"Inference:MaxResidentMb must be from 1 to 16777216 (or unset: no limit); it is {MaxResidentMb}.";
        }

        if (DefaultMaxBatchSize is < 0 or > 1024)
        {
            yield return $"Inference:DefaultMaxBatchSize must be from 0 to 1024; it is {DefaultMaxBatchSize}.";
        }
    }
}
