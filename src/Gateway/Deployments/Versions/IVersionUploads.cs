namespace ServingGateway.Deployments.Versions;

/// <summary>
/// Where an upload goes: this process's model repository (<see cref="VersionStore"/>, roles standalone and node), or
/// every node behind an edge (<see cref="NodeUploadFanOut"/>).
/// </summary>
internal interface IVersionUploads
{
    /// <summary>Stores <paramref name="body"/> as <paramref name="request"/> says, filling <paramref name="receipt"/> as it goes.</summary>
    /// <returns>The version and its digest; <see cref="StoredVersion.Created"/> false when the same bytes were stored already.</returns>
    /// <exception cref="UploadRefusedException">The status and reason the caller gets.</exception>
    Task<StoredVersion> StoreAsync(UploadRequest request, Stream body, UploadReceipt receipt, CancellationToken cancellationToken);
}
