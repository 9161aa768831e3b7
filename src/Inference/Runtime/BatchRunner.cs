using System.Buffers.Binary;
using ServingGateway.Batching;
using ServingGateway.Inference.Metrics;
using ServingGateway.Inference.Protocol;
using ServingGateway.Inference.Tensors;

namespace ServingGateway.Inference.Runtime;

/// <summary>
/// Runs one batch of requests on one executor (<see cref="IModelExecutor"/>): concatenates their inputs along dimension 0 into one
/// pooled buffer per input (one copy in), runs the model once, and splits each output back by row ranges
/// into each request's own pooled tensors (one copy out). A batch of one request runs on its own tensors.
/// </summary>
internal sealed class BatchRunner
{
    private readonly IModelExecutor[] _instances;
    private readonly ModelSignature _signature;
    private readonly ModelStatistics _statistics;
    private readonly NodeMetrics.VersionMetrics _metrics;
    private readonly TimeProvider _time;

    public BatchRunner(IModelExecutor[] instances, ModelSignature signature, ModelStatistics statistics, NodeMetrics.VersionMetrics metrics, TimeProvider time)
    {
        _instances = instances;
        _signature = signature;
        _statistics = statistics;
        _metrics = metrics;
        _time = time;
    }

    /// <summary>
    /// Runs <paramref name="batch"/> on instance <paramref name="instance"/> and completes each entry with its
    /// outputs (the caller's to dispose). When ONNX Runtime refuses a merged batch, each request runs alone
    /// so that one bad input fails only its own request.
    /// </summary>
    public void Execute(int instance, BatchEntry<InferRequest, PooledTensor[]>[] batch)
    {
        foreach (var entry in batch)
        {
            var waited = TimeSpan.FromSeconds((double)(entry.DispatchedAt - entry.EnqueuedAt) / _time.TimestampFrequency);
            _statistics.Queue.Add(1, (long)(waited.TotalMilliseconds * 1_000_000));
            _metrics.RecordQueue(waited);
        }

        PooledTensor[][] results;
        try
        {
            results = Run(instance, batch);
        }
        catch (InferenceException) when (batch.Length > 1)
        {
            foreach (var entry in batch)
            {
                try
                {
                    Deliver(entry, Run(instance, [entry])[0]);
                }
                catch (InferenceException ex)
                {
                    entry.Fail(ex);
                }
            }

            return;
        }

        for (var i = 0; i < batch.Length; i++)
        {
            Deliver(batch[i], results[i]);
        }
    }

    private static void Deliver(BatchEntry<InferRequest, PooledTensor[]> entry, PooledTensor[] outputs)
    {
        if (!entry.Complete(outputs))
        {
            DisposeAll(outputs); // nobody will read them
        }
    }

    private PooledTensor[][] Run(int instance, BatchEntry<InferRequest, PooledTensor[]>[] batch)
    {
        var started = _time.GetTimestamp();
        var rows = 0;
        foreach (var entry in batch)
        {
            rows += (int)entry.Request.BatchSize;
        }

        PooledTensor[][] results;
        long assembled, ran;
        if (batch.Length == 1)
        {
            var request = batch[0].Request;
            assembled = _time.GetTimestamp();
            results = [_instances[instance].Run(request.Inputs, request.Outputs, request.BatchSize)];
            ran = _time.GetTimestamp();
        }
        else
        {
            var inputs = Concatenate(batch, rows);
            try
            {
                var union = UnionOfOutputs(batch);
                assembled = _time.GetTimestamp();
                var outputs = _instances[instance].Run(inputs, union, rows);
                ran = _time.GetTimestamp();
                try
                {
                    results = Split(batch, union, outputs, rows);
                }
                finally
                {
                    DisposeAll(outputs);
                }
            }
            finally
            {
                DisposeAll(inputs);
            }
        }

        var finished = _time.GetTimestamp();
        _statistics.RecordBatch(rows, batch.Length, Nanoseconds(assembled - started), Nanoseconds(ran - assembled), Nanoseconds(finished - ran), _time.GetUtcNow().ToUnixTimeMilliseconds());
        _metrics.RecordBatch(rows, _time.GetElapsedTime(started, finished));
        return results;
    }

    private long Nanoseconds(long ticks) => (long)(ticks * (1_000_000_000.0 / _time.TimestampFrequency));

    // One copy in: each input of every request, in batch order, into one pooled tensor per input.
    private PooledTensor[] Concatenate(BatchEntry<InferRequest, PooledTensor[]>[] batch, int rows)
    {
        var inputs = new PooledTensor[_signature.Inputs.Length];
        try
        {
            for (var i = 0; i < inputs.Length; i++)
            {
                var first = batch[0].Request.Inputs[i];
                var shape = (long[])first.Shape.Clone();
                shape[0] = rows;
                var bytes = 0L;
                var elements = 0L;
                foreach (var entry in batch)
                {
                    bytes += entry.Request.Inputs[i].Length;
                    elements += entry.Request.Inputs[i].ElementCount;
                }

                inputs[i] = PooledTensor.Rent(first.Name, first.DataType, shape, elements, checked((int)bytes));
                var destination = inputs[i].Span;
                foreach (var entry in batch)
                {
                    var source = entry.Request.Inputs[i].Span;
                    source.CopyTo(destination);
                    destination = destination[source.Length..];
                }
            }

            return inputs;
        }
        catch
        {
            DisposeAll(inputs);
            throw;
        }
    }

    // The outputs any request of the batch asked for, in model order.
    private RequestedOutput[] UnionOfOutputs(BatchEntry<InferRequest, PooledTensor[]>[] batch)
    {
        Span<bool> wanted = stackalloc bool[_signature.Outputs.Length];
        foreach (var entry in batch)
        {
            foreach (var output in entry.Request.Outputs)
            {
                wanted[output.Index] = true;
            }
        }

        var union = new List<RequestedOutput>(_signature.Outputs.Length);
        for (var i = 0; i < wanted.Length; i++)
        {
            if (wanted[i])
            {
                union.Add(new RequestedOutput(i, false));
            }
        }

        return [.. union];
    }

    // One copy out: each request's rows of each output it asked for, into its own pooled tensor.
    private static PooledTensor[][] Split(BatchEntry<InferRequest, PooledTensor[]>[] batch, RequestedOutput[] union, PooledTensor[] outputs, int rows)
    {
        var rowStarts = new int[outputs.Length][];
        for (var u = 0; u < outputs.Length; u++)
        {
            rowStarts[u] = RowStarts(outputs[u], rows);
        }

        var results = new PooledTensor[batch.Length][];
        try
        {
            var row = 0;
            for (var e = 0; e < batch.Length; e++)
            {
                var request = batch[e].Request;
                var count = (int)request.BatchSize;
                results[e] = new PooledTensor[request.Outputs.Length];
                for (var j = 0; j < request.Outputs.Length; j++)
                {
                    var u = Array.FindIndex(union, o => o.Index == request.Outputs[j].Index);
                    var source = outputs[u];
                    var start = rowStarts[u][row];
                    var length = rowStarts[u][row + count] - start;
                    var shape = (long[])source.Shape.Clone();
                    shape[0] = count;
                    var tensor = PooledTensor.Rent(source.Name, source.DataType, shape, source.ElementCount / rows * count, length);
                    results[e][j] = tensor;
                    source.Span.Slice(start, length).CopyTo(tensor.Span);
                }

                row += count;
            }

            return results;
        }
        catch
        {
            foreach (var tensors in results)
            {
                DisposeAll(tensors);
            }

            throw;
        }
    }

    // Byte offset of each row of a batch output (rows + 1 entries).
    private static int[] RowStarts(PooledTensor output, int rows)
    {
        if (output.Shape.Length == 0 || output.Shape[0] != rows)
        {
            throw new InvalidOperationException(
                $"output '{output.Name}' has shape {TensorShape.Format(output.Shape)}, but a batch of {rows} rows needs dimension 0 to be {rows}; with max_batch_size > 0 every output must follow the batch dimension");
        }

        var starts = new int[rows + 1];
        if (output.DataType != TensorDataType.Bytes)
        {
            var rowBytes = output.Length / rows;
            for (var r = 0; r <= rows; r++)
            {
                starts[r] = r * rowBytes;
            }

            return starts;
        }

        var perRow = output.ElementCount / rows;
        var data = output.Span;
        var offset = 0;
        for (var r = 0; r < rows; r++)
        {
            starts[r] = offset;
            for (var i = 0; i < perRow; i++)
            {
                offset += 4 + BinaryPrimitives.ReadInt32LittleEndian(data[offset..]);
            }
        }

        starts[rows] = offset;
        return starts;
    }

    private static void DisposeAll(PooledTensor?[]? tensors)
    {
        if (tensors is null)
        {
            return;
        }

        foreach (var tensor in tensors)
        {
            tensor?.Dispose();
        }
    }
}
