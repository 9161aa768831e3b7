namespace ServingGateway.Deployments.Versions;

/// <summary>What an upload's body is, by its Content-Type.</summary>
internal enum UploadKind
{
    /// <summary>application/octet-stream: the model.onnx bytes.</summary>
    Model,

    /// <summary>application/zip: a zip of the version folder.</summary>
    Zip,

    /// <summary>application/x-tar: a tar of the version folder.</summary>
    Tar,
}
