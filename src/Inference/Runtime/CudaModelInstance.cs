using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using ServingGateway.Inference.Protocol;
using ServingGateway.Inference.Tensors;

namespace ServingGateway.Inference.Runtime;

/// <summary>
/// One ONNX Runtime session on a CUDA device (Triton's "model instance" of kind GPU); runs one batch at a time
/// through an <see cref="OrtIoBinding"/> (docs/GPU.md).
/// </summary>
/// <remarks>
/// <para>
/// Each input is copied once per batch into a page-locked ("pinned") host buffer of this instance, bound there;
/// ONNX Runtime copies it to the device in one transfer (pinned memory needs no staging copy) into memory of its
/// CUDA arena, so a request allocates nothing on the device once the arena has grown to the largest batch
/// (the warm-up at load does that). Each output asked for is bound to a pinned host buffer of this instance
/// (when its shape is known before the run) or to ONNX Runtime's pinned allocator (when it is not), and copied
/// once into the pooled tensor returned. Element bytes are copied as they are: FP16 and BF16 models are served
/// in their own type, never converted.
/// </para>
/// <para>
/// The host memory is a constructor argument so that the binding logic is exercised on a CPU-only machine with
/// ONNX Runtime's CPU memory (tests); the factory gives CUDA sessions the pinned memory of their device.
/// BYTES tensors are not bound (the factory serves such models with <see cref="OnnxModelInstance"/>).
/// </para>
/// <para>
/// Ownership: the instance owns the session, the binding, the run options, the allocator, the host memory
/// description and its host buffers, and disposes them; the returned tensors are the caller's.
/// </para>
/// </remarks>
internal sealed class CudaModelInstance : IModelExecutor
{
    private readonly InferenceSession _session;
    private readonly ModelSignature _signature;
    private readonly OutputShapePlan _shapes;
    private readonly RuntimeCounters _counters;
    private readonly OrtMemoryInfo _hostMemory;
    private readonly bool _ownsHostMemory;
    private readonly OrtAllocator _allocator;
    private readonly bool _ownsAllocator;
    private readonly RunOptions _runOptions;
    private readonly OrtIoBinding _binding;
    private readonly OrtValue?[] _inputBuffers;
    private readonly OrtValue?[] _outputBuffers;
    private int _disposed;

    /// <summary>
    /// Takes ownership of <paramref name="session"/> and <paramref name="hostMemory"/>; host buffers are allocated
    /// from the session's allocator for <paramref name="hostMemory"/> (for the CPU memory info, ONNX Runtime's default
    /// CPU allocator).
    /// </summary>
    public CudaModelInstance(InferenceSession session, ModelSignature signature, OutputShapePlan shapes, RuntimeCounters counters, OrtMemoryInfo hostMemory)
    {
        if (signature.Inputs.Any(t => t.DataType == TensorDataType.Bytes) || signature.Outputs.Any(t => t.DataType == TensorDataType.Bytes))
        {
            throw new ArgumentException("BYTES tensors are not bound through IOBinding", nameof(signature));
        }

        _session = session;
        _signature = signature;
        _shapes = shapes;
        _counters = counters;
        _hostMemory = hostMemory;
        _ownsHostMemory = !ReferenceEquals(hostMemory, OrtMemoryInfo.DefaultInstance);
        _inputBuffers = new OrtValue?[signature.Inputs.Length];
        _outputBuffers = new OrtValue?[signature.Outputs.Length];
        OrtAllocator? allocator = null;
        RunOptions? runOptions = null;
        try
        {
            _ownsAllocator = _ownsHostMemory;
            allocator = _ownsHostMemory ? new OrtAllocator(session, hostMemory) : OrtAllocator.DefaultInstance;
            runOptions = new RunOptions();
            _binding = session.CreateIoBinding();
        }
        catch
        {
            runOptions?.Dispose();
            if (_ownsAllocator)
            {
                allocator?.Dispose();
            }

            throw;
        }

        _allocator = allocator;
        _runOptions = runOptions;
    }

    /// <summary>
    /// The page-locked host memory of CUDA device <paramref name="deviceId"/> (ONNX Runtime's "CudaPinned"
    /// allocator, which the CUDA execution provider registers with each session); the caller owns it.
    /// </summary>
    public static OrtMemoryInfo PinnedHostMemory(int deviceId) =>
        new(OrtMemoryInfo.allocatorCUDA_PINNED, OrtAllocatorType.DeviceAllocator, deviceId, OrtMemType.CpuOutput);

    /// <summary>Pinned host bytes this instance holds for its inputs and outputs (grown to the largest batch seen).</summary>
    public long HostBufferBytes => _inputBuffers.Concat(_outputBuffers).Sum(b => b is null ? 0L : b.GetTensorMutableRawData().Length);

    /// <inheritdoc />
    public PooledTensor[] Run(PooledTensor[] inputs, RequestedOutput[] outputs, long batchSize)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        var values = new OrtValue?[inputs.Length + outputs.Length];
        PooledTensor[]? results = null;
        try
        {
            for (var i = 0; i < inputs.Length; i++)
            {
                var tensor = inputs[i];
                var buffer = Reserve(_inputBuffers, i, tensor.Length);
                tensor.Span.CopyTo(buffer.GetTensorMutableRawData());
                values[i] = OrtValue.CreateTensorValueWithData(_hostMemory, tensor.DataType.ToOrt(), tensor.Shape, AddressOf(buffer), tensor.Length);
                _counters.ValueCreated(values[i]!);
                _binding.BindInput(_signature.Inputs[i].Name, values[i]!);
            }

            for (var o = 0; o < outputs.Length; o++)
            {
                var spec = _signature.Outputs[outputs[o].Index];
                if (_shapes.Resolve(outputs[o].Index, inputs, batchSize) is { } shape
                    && TensorShape.TryGetElementCount(shape, InferRequestReader.MaxTensorBytes / spec.DataType.ElementSize(), out var count))
                {
                    var length = (int)(count * spec.DataType.ElementSize());
                    var buffer = Reserve(_outputBuffers, outputs[o].Index, length);
                    values[inputs.Length + o] = OrtValue.CreateTensorValueWithData(_hostMemory, spec.DataType.ToOrt(), shape, AddressOf(buffer), length);
                    _counters.ValueCreated(values[inputs.Length + o]!);
                    _binding.BindOutput(spec.Name, values[inputs.Length + o]!);
                }
                else
                {
                    _binding.BindOutputToDevice(spec.Name, _hostMemory);
                }
            }

            _session.RunWithBinding(_runOptions, _binding);
            _binding.SynchronizeBoundOutputs();
            results = CopyOut(outputs);
            return results;
        }
        catch (OnnxRuntimeException ex)
        {
            DisposeAll(results);
            throw InferenceException.BadRequest($"the model could not run on this input: {ex.Message.Trim()}");
        }
        finally
        {
            _binding.ClearBoundInputs();
            _binding.ClearBoundOutputs();
            foreach (var value in values)
            {
                if (value is not null)
                {
                    value.Dispose();
                    _counters.ValuesDisposed(1);
                }
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

        _binding.Dispose();
        _runOptions.Dispose();
        foreach (var buffer in _inputBuffers.Concat(_outputBuffers))
        {
            buffer?.Dispose();
        }

        if (_ownsAllocator)
        {
            _allocator.Dispose();
        }

        if (_ownsHostMemory)
        {
            _hostMemory.Dispose();
        }

        _session.Dispose();
        _counters.SessionDisposed();
    }

    // The outputs in the order asked for, as the binding returns them (binding order): over our buffers where bound
    // there, else in ONNX Runtime's pinned memory; counted and disposed like ours.
    private PooledTensor[] CopyOut(RequestedOutput[] outputs)
    {
        var results = new PooledTensor[outputs.Length];
        using var produced = _binding.GetOutputValues();
        var count = produced.Count;
        foreach (var value in produced)
        {
            _counters.ValueCreated(value);
        }

        try
        {
            for (var o = 0; o < outputs.Length; o++)
            {
                var spec = _signature.Outputs[outputs[o].Index];
                var info = produced[o].GetTensorTypeAndShape();
                var bytes = produced[o].GetTensorDataAsSpan<byte>();
                results[o] = PooledTensor.Rent(spec.Name, spec.DataType, info.Shape, info.ElementCount, bytes.Length);
                bytes.CopyTo(results[o].Span);
            }

            return results;
        }
        catch
        {
            DisposeAll(results);
            throw;
        }
        finally
        {
            _counters.ValuesDisposed(count);
        }
    }

    // The buffer of slot 'index' (a byte tensor from the host allocator, so native memory that never moves), grown
    // (never shrunk) to hold 'length' bytes: after the warm-up at the largest batch it is allocated once per instance.
    private OrtValue Reserve(OrtValue?[] buffers, int index, int length)
    {
        if (buffers[index] is { } buffer && buffer.GetTensorMutableRawData().Length >= length)
        {
            return buffer;
        }

        buffers[index]?.Dispose();
        buffers[index] = null;
        buffers[index] = OrtValue.CreateAllocatedTensorValue(_allocator, TensorElementType.UInt8, [Math.Max(64, length)]);
        return buffers[index]!;
    }

    private static unsafe IntPtr AddressOf(OrtValue buffer)
    {
        fixed (byte* data = buffer.GetTensorMutableRawData())
        {
            return (IntPtr)data; // native memory: the address stays valid after the fixed block
        }
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
