using System.Runtime.InteropServices;

namespace ServingGateway.Inference.Runtime;

/// <summary>
/// Device memory in use on a CUDA device, from the CUDA runtime's <c>cudaMemGetInfo</c> (total minus free: every
/// allocation on the device, this process's and others'). The factory reads it before and after loading a version
/// on CUDA (docs/GPU.md); null where the CUDA 13 runtime or the device is missing.
/// </summary>
internal static partial class CudaMemory
{
    private const string Runtime = "libcudart.so.13";

    /// <summary>Bytes in use on <paramref name="device"/>, or null when that cannot be read here.</summary>
    /// <remarks>Makes <paramref name="device"/> the calling thread's current device (ONNX Runtime sets its own).</remarks>
    public static long? UsedBytes(int device)
    {
        try
        {
            return cudaSetDevice(device) == 0 && cudaMemGetInfo(out var free, out var total) == 0 ? (long)(total - free) : null;
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
    }

    [LibraryImport(Runtime)]
    private static partial int cudaSetDevice(int device);

    [LibraryImport(Runtime)]
    private static partial int cudaMemGetInfo(out nuint free, out nuint total);
}
