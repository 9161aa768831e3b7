using System.Threading.Channels;
using ServingGateway.Inference.Protocol;
using ServingGateway.Inference.Tensors;

namespace ServingGateway.Inference.Runtime;

/// <summary>
/// The N session instances of one model version; a request takes an idle one, waiting when all are busy.
/// </summary>
/// <remarks>Ownership: the pool owns its instances and disposes them; dispose it only when no run is in flight.</remarks>
internal sealed class InstancePool : IDisposable
{
    private readonly OnnxModelInstance[] _instances;
    private readonly Channel<OnnxModelInstance> _idle;

    /// <summary>Takes ownership of <paramref name="instances"/>.</summary>
    public InstancePool(OnnxModelInstance[] instances)
    {
        _instances = instances;
        _idle = Channel.CreateBounded<OnnxModelInstance>(new BoundedChannelOptions(instances.Length)
        {
            SingleReader = false,
            SingleWriter = false,
        });
        foreach (var instance in instances)
        {
            _idle.Writer.TryWrite(instance);
        }
    }

    /// <summary>The number of instances.</summary>
    public int Count => _instances.Length;

    /// <summary>Runs <paramref name="request"/> on the first idle instance.</summary>
    public async ValueTask<PooledTensor[]> RunAsync(InferRequest request, CancellationToken cancellationToken)
    {
        if (!_idle.Reader.TryRead(out var instance))
        {
            instance = await _idle.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        }

        try
        {
            return instance.Run(request.Inputs, request.Outputs, request.BatchSize);
        }
        finally
        {
            _idle.Writer.TryWrite(instance);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _idle.Writer.TryComplete();
        foreach (var instance in _instances)
        {
            instance.Dispose();
        }
    }
}
