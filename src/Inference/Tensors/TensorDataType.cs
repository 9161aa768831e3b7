namespace ServingGateway.Inference.Tensors;

/// <summary>
/// The Open Inference Protocol tensor datatypes that ONNX Runtime can run.
/// </summary>
/// <remarks>
/// Values are laid out so that <see cref="TensorDataTypes"/> can index tables by them;
/// <see cref="Invalid"/> is never a valid tensor type.
/// </remarks>
internal enum TensorDataType : byte
{
    /// <summary>Not a datatype: the default value, rejected everywhere.</summary>
    Invalid = 0,
    /// <summary>OIP "BOOL", one byte per element (0 or 1).</summary>
    Bool,
    /// <summary>OIP "UINT8".</summary>
    UInt8,
    /// <summary>OIP "UINT16".</summary>
    UInt16,
    /// <summary>OIP "UINT32".</summary>
    UInt32,
    /// <summary>OIP "UINT64".</summary>
    UInt64,
    /// <summary>OIP "INT8".</summary>
    Int8,
    /// <summary>OIP "INT16".</summary>
    Int16,
    /// <summary>OIP "INT32".</summary>
    Int32,
    /// <summary>OIP "INT64".</summary>
    Int64,
    /// <summary>OIP "FP16", IEEE 754 half precision.</summary>
    Fp16,
    /// <summary>OIP "FP32".</summary>
    Fp32,
    /// <summary>OIP "FP64".</summary>
    Fp64,
    /// <summary>OIP "BF16", bfloat16.</summary>
    Bf16,
    /// <summary>OIP "BYTES": variable-length byte strings (ONNX string tensors, UTF-8).</summary>
    Bytes,
}
