using System.Buffers;
using Microsoft.AspNetCore.Http;
using ServingGateway.Inference.Buffers;
using ServingGateway.Inference.Caching;
using ServingGateway.Inference.Protocol;
using ServingGateway.Inference.Residency;
using ServingGateway.Inference.Tensors;

namespace ServingGateway.Inference.Serving;

/// <summary>
/// An encoded infer response, for the endpoint to write: either whole bytes (a byte-identical repeat, or a
/// response just kept for its repeats) or the pooled JSON followed by the binary outputs asked for.
/// </summary>
/// <remarks>
/// Ownership: the reply holds the request's reference on its model version and the pooled buffers; Dispose
/// gives them back and records the request as answered (a success) with the time since it arrived.
/// </remarks>
internal sealed class InferReply : IDisposable
{
    private readonly InferencePipeline _pipeline;
    private readonly long _started;
    private readonly InferRequest? _request;
    private readonly PooledTensor[]? _outputs;
    private readonly PooledBufferWriter? _json;
    private int _disposed;

    private InferReply(InferencePipeline pipeline, ModelHost model, long started, CacheOutcome outcome, int? headerLength, long contentLength,
        byte[]? whole, InferRequest? request, PooledTensor[]? outputs, PooledBufferWriter? json)
    {
        _pipeline = pipeline;
        Model = model;
        _started = started;
        Outcome = outcome;
        HeaderLength = headerLength;
        ContentLength = contentLength;
        Whole = whole;
        _request = request;
        _outputs = outputs;
        _json = json;
    }

    /// <summary>The version that answered.</summary>
    public ModelHost Model { get; }

    /// <summary>Where the prediction came from (X-Cache).</summary>
    public CacheOutcome Outcome { get; }

    /// <summary>The JSON's length when binary outputs follow it (Inference-Header-Content-Length), else null.</summary>
    public int? HeaderLength { get; }

    /// <summary>The body's length in bytes.</summary>
    public long ContentLength { get; }

    /// <summary>The whole body when it is held as one array (from or for the response cache); else null.</summary>
    public byte[]? Whole { get; }

    /// <summary>A reply of whole bytes.</summary>
    public static InferReply Cached(InferencePipeline pipeline, ModelHost model, long started, CachedResponse response, CacheOutcome outcome = CacheOutcome.HitMemory) =>
        new(pipeline, model, started, outcome, response.HeaderLength, response.Body.Length, response.Body, null, null, null);

    /// <summary>A reply of pooled JSON and outputs; takes ownership of <paramref name="request"/>, <paramref name="outputs"/> and <paramref name="json"/>.</summary>
    public static InferReply Encoded(InferencePipeline pipeline, ModelHost model, long started, CacheOutcome outcome, InferRequest request,
        PooledTensor[] outputs, PooledBufferWriter json, int? headerLength, long contentLength) =>
        new(pipeline, model, started, outcome, headerLength, contentLength, null, request, outputs, json);

    /// <summary>Copies a reply without <see cref="Whole"/> bytes into <paramref name="writer"/>: the JSON, then each binary output.</summary>
    public void CopyTo(IBufferWriter<byte> writer)
    {
        writer.Write(_json!.WrittenSpan);
        for (var i = 0; i < _outputs!.Length; i++)
        {
            if (_request!.Outputs[i].Binary)
            {
                writer.Write(_outputs[i].Span);
            }
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _json?.Dispose();
        DisposeAll(_outputs);
        _request?.Dispose();
        _pipeline.Finish(Model, _started, StatusCodes.Status200OK);
    }

    /// <summary>Disposes each tensor of <paramref name="tensors"/>.</summary>
    internal static void DisposeAll(PooledTensor[]? tensors)
    {
        foreach (var tensor in tensors ?? [])
        {
            tensor.Dispose();
        }
    }
}
