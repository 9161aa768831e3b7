using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using ServingGateway.Inference.Protocol;
using ServingGateway.Inference.Tensors;

namespace ServingGateway.Inference.Runtime;

/// <summary>
/// One ONNX Runtime session of a model version (Triton's "model instance"); runs one request at a time.
/// </summary>
/// <remarks>
/// Ownership: the instance owns its session and run options and disposes them. Inputs are passed to
/// ONNX Runtime as OrtValues over the request's pinned pooled buffers (no copy); outputs whose shape is
/// known beforehand are pre-allocated in pooled buffers that ONNX Runtime writes into, the others are
/// copied once out of ONNX Runtime's memory.
/// </remarks>
internal sealed class OnnxModelInstance : IModelExecutor
{
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions;
    private readonly ModelSignature _signature;
    private readonly OutputShapePlan _shapes;
    private readonly RuntimeCounters _counters;
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;
    private int _disposed;

    /// <summary>Takes ownership of <paramref name="session"/>.</summary>
    public OnnxModelInstance(InferenceSession session, ModelSignature signature, OutputShapePlan shapes, RuntimeCounters counters)
    {
        _session = session;
        _signature = signature;
        _shapes = shapes;
        _counters = counters;
        _runOptions = new RunOptions();
        _inputNames = [.. signature.Inputs.Select(i => i.Name)];
        _outputNames = [.. signature.Outputs.Select(o => o.Name)];
    }

    /// <summary>
    /// Runs the model on <paramref name="inputs"/> (one per model input, in model order) and returns the
    /// <paramref name="outputs"/> asked for, in that order. The caller owns the returned tensors.
    /// </summary>
    /// <exception cref="InferenceException">400 when ONNX Runtime refuses these inputs.</exception>
    public PooledTensor[] Run(PooledTensor[] inputs, RequestedOutput[] outputs, long batchSize)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        var values = new OrtValue?[inputs.Length + outputs.Length];
        var pins = new GCHandle[values.Length];
        PooledTensor[]? results = null;
        try
        {
            for (var i = 0; i < inputs.Length; i++)
            {
                values[i] = CreateValue(inputs[i], ref pins[i]);
                _counters.ValueCreated(values[i]!);
            }

            var outputNames = outputs.Length == _outputNames.Length && IsModelOrder(outputs)
                ? _outputNames
                : [.. outputs.Select(o => _outputNames[o.Index])];
            var inputValues = new ArraySegment<OrtValue>(values!, 0, inputs.Length);

            results = TryPreallocate(inputs, outputs, batchSize);
            if (results is not null)
            {
                for (var o = 0; o < results.Length; o++)
                {
                    values[inputs.Length + o] = CreateValue(results[o], ref pins[inputs.Length + o]);
                    _counters.ValueCreated(values[inputs.Length + o]!);
                }

                _session.Run(_runOptions, _inputNames, inputValues, outputNames, new ArraySegment<OrtValue>(values!, inputs.Length, outputs.Length));
                return results;
            }

            // The values a run returns are ONNX Runtime's memory: counted and disposed like ours.
            var produced = _session.Run(_runOptions, _inputNames, inputValues, outputNames);
            try
            {
                foreach (var value in produced)
                {
                    _counters.ValueCreated(value);
                }

                results = new PooledTensor[outputs.Length];
                var index = 0;
                foreach (var value in produced)
                {
                    results[index] = CopyOut(value, _signature.Outputs[outputs[index].Index]);
                    index++;
                }

                return results;
            }
            finally
            {
                var count = produced.Count; // read before Dispose, which empties the list
                produced.Dispose();
                _counters.ValuesDisposed(count);
            }
        }
        catch (OnnxRuntimeException ex)
        {
            DisposeAll(results);
            throw InferenceException.BadRequest($"the model could not run on this input: {ex.Message.Trim()}");
        }
        catch
        {
            DisposeAll(results);
            throw;
        }
        finally
        {
            for (var i = 0; i < values.Length; i++)
            {
                if (values[i] is { } value)
                {
                    value.Dispose();
                    _counters.ValuesDisposed(1);
                }

                if (pins[i].IsAllocated)
                {
                    pins[i].Free();
                }
            }
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _runOptions.Dispose();
            _session.Dispose();
            _counters.SessionDisposed();
        }
    }

    private static bool IsModelOrder(RequestedOutput[] outputs)
    {
        for (var i = 0; i < outputs.Length; i++)
        {
            if (outputs[i].Index != i)
            {
                return false;
            }
        }

        return true;
    }

    private PooledTensor[]? TryPreallocate(PooledTensor[] inputs, RequestedOutput[] outputs, long batchSize)
    {
        var shapes = new long[outputs.Length][];
        for (var o = 0; o < outputs.Length; o++)
        {
            var spec = _signature.Outputs[outputs[o].Index];
            if (spec.DataType == TensorDataType.Bytes
                || _shapes.Resolve(outputs[o].Index, inputs, batchSize) is not { } shape
                || !TensorShape.TryGetElementCount(shape, InferRequestReader.MaxTensorBytes / spec.DataType.ElementSize(), out _))
            {
                return null;
            }

            shapes[o] = shape;
        }

        var results = new PooledTensor[outputs.Length];
        for (var o = 0; o < outputs.Length; o++)
        {
            var spec = _signature.Outputs[outputs[o].Index];
            TensorShape.TryGetElementCount(shapes[o], long.MaxValue, out var count);
            results[o] = PooledTensor.Rent(spec.Name, spec.DataType, shapes[o], count, (int)(count * spec.DataType.ElementSize()));
        }

        return results;
    }

    // Ownership: the returned OrtValue is the caller's; a pinned handle is returned through 'pin'.
    private static OrtValue CreateValue(PooledTensor tensor, ref GCHandle pin)
    {
        if (tensor.DataType == TensorDataType.Bytes)
        {
            var value = OrtValue.CreateTensorWithEmptyStrings(OrtAllocator.DefaultInstance, tensor.Shape);
            try
            {
                ReadOnlySpan<byte> data = tensor.Span;
                var offset = 0;
                for (var i = 0; i < tensor.ElementCount; i++)
                {
                    var length = BinaryPrimitives.ReadInt32LittleEndian(data[offset..]);
                    value.StringTensorSetElementAt(data.Slice(offset + 4, length), i);
                    offset += 4 + length;
                }

                return value;
            }
            catch
            {
                value.Dispose();
                throw;
            }
        }

        pin = GCHandle.Alloc(tensor.Buffer, GCHandleType.Pinned);
        return OrtValue.CreateTensorValueWithData(
            OrtMemoryInfo.DefaultInstance, tensor.DataType.ToOrt(), tensor.Shape, pin.AddrOfPinnedObject(), tensor.Length);
    }

    private static PooledTensor CopyOut(OrtValue value, TensorSpec spec)
    {
        var info = value.GetTensorTypeAndShape();
        var shape = info.Shape;
        var count = info.ElementCount;
        if (spec.DataType != TensorDataType.Bytes)
        {
            var bytes = value.GetTensorDataAsSpan<byte>();
            var tensor = PooledTensor.Rent(spec.Name, spec.DataType, shape, count, bytes.Length);
            bytes.CopyTo(tensor.Span);
            return tensor;
        }

        var total = 0L;
        for (var i = 0; i < count; i++)
        {
            total += 4 + value.GetStringElementAsSpan(i).Length;
        }

        var strings = PooledTensor.Rent(spec.Name, spec.DataType, shape, count, checked((int)total));
        var dest = strings.Span;
        var offset = 0;
        for (var i = 0; i < count; i++)
        {
            var element = value.GetStringElementAsSpan(i);
            BinaryPrimitives.WriteInt32LittleEndian(dest[offset..], element.Length);
            element.CopyTo(dest[(offset + 4)..]);
            offset += 4 + element.Length;
        }

        return strings;
    }

    private static void DisposeAll(PooledTensor[]? tensors)
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
