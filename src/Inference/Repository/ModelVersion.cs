using ServingGateway.Inference.Runtime;
using ServingGateway.Inference.Tensors;

namespace ServingGateway.Inference.Repository;

/// <summary>
/// A loaded model version: its signature, digest and session instances, reference-counted so that an
/// unload or a replacement waits for the requests in flight before the sessions are disposed.
/// </summary>
/// <remarks>
/// The repository holds one reference from load until it retires the version; each request holds one
/// between <see cref="TryAcquire"/> and <see cref="Release"/>. The last release disposes the pool.
/// </remarks>
internal sealed class ModelVersion
{
    private readonly InstancePool _pool;
    private int _references = 1;
    private int _retired;

    public ModelVersion(string modelName, long version, string digest, ModelSignature signature, InstancePool pool, string executionProvider)
    {
        ModelName = modelName;
        Version = version;
        VersionText = version.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Digest = digest;
        Signature = signature;
        _pool = pool;
        ExecutionProvider = executionProvider;
    }

    /// <summary>The model's name.</summary>
    public string ModelName { get; }

    /// <summary>The version number.</summary>
    public long Version { get; }

    /// <summary>The version number as text, as OIP sends it.</summary>
    public string VersionText { get; }

    /// <summary>"sha256:" and the hex SHA-256 over the version folder's files; immutable for a loaded version.</summary>
    public string Digest { get; }

    /// <summary>Inputs, outputs and batching.</summary>
    public ModelSignature Signature { get; }

    /// <summary>Where the sessions run: "cpu" or "cuda".</summary>
    public string ExecutionProvider { get; }

    /// <summary>The text of the model's config.json when this version was loaded; a change reloads the version.</summary>
    public string ConfigText { get; set; } = "";

    /// <summary>The session instances.</summary>
    public InstancePool Pool => _pool;

    /// <summary>Takes a reference for a request; false once the version is retired and drained.</summary>
    public bool TryAcquire()
    {
        var current = Volatile.Read(ref _references);
        while (current > 0)
        {
            var seen = Interlocked.CompareExchange(ref _references, current + 1, current);
            if (seen == current)
            {
                return true;
            }

            current = seen;
        }

        return false;
    }

    /// <summary>Gives back a reference taken by <see cref="TryAcquire"/>.</summary>
    public void Release()
    {
        if (Interlocked.Decrement(ref _references) == 0)
        {
            _pool.Dispose();
        }
    }

    /// <summary>The repository's release: the sessions are disposed once the requests in flight finish.</summary>
    public void Retire()
    {
        if (Interlocked.Exchange(ref _retired, 1) == 0)
        {
            Release();
        }
    }
}
