using ServingGateway.Inference.Tensors;

namespace ServingGateway.Inference.Protocol;

/// <summary>
/// A decoded, validated inference request: its inputs are in pooled buffers and fit the model.
/// </summary>
/// <remarks>Ownership: the request owns its input tensors; disposing it returns their buffers.</remarks>
internal sealed class InferRequest : IDisposable
{
    public InferRequest(string? id, PooledTensor[] inputs, RequestedOutput[] outputs, long batchSize)
    {
        Id = id;
        Inputs = inputs;
        Outputs = outputs;
        BatchSize = batchSize;
    }

    /// <summary>The caller's request id, echoed in the response; null when none was sent.</summary>
    public string? Id { get; }

    /// <summary>One tensor per model input, in the model's input order.</summary>
    public PooledTensor[] Inputs { get; }

    /// <summary>The outputs to return, in response order.</summary>
    public RequestedOutput[] Outputs { get; }

    /// <summary>Rows in dimension 0 when the model batches; 1 when it does not.</summary>
    public long BatchSize { get; }

    /// <summary>The request's "timeout" parameter in microseconds, or null.</summary>
    public long? TimeoutMicroseconds { get; init; }

    /// <summary>The request's "priority" parameter; 0 when none was sent.</summary>
    public long Priority { get; init; }

    /// <summary>
    /// When the server began reading it (a timestamp of the server's <see cref="TimeProvider"/>); null when it did not
    /// come over HTTP. Its deadline runs from then (the batcher), so reading and decoding count against it.
    /// </summary>
    public long? ReceivedAt { get; set; }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var input in Inputs)
        {
            input?.Dispose();
        }
    }
}
