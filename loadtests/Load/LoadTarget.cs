using ServingGateway.LoadTool.Payloads;

namespace ServingGateway.LoadTool.Load;

/// <summary>
/// A model under load: where its infer endpoint is, its share of the requests (weight) and the
/// request bodies sent to it in turn.
/// </summary>
internal sealed class LoadTarget(string model, Uri inferUri, int weight, IReadOnlyList<InferRequestBody> bodies)
{
    private long _next = -1;

    public string Model { get; } = model;

    public Uri InferUri { get; } = inferUri;

    public int Weight { get; } = weight;

    public IReadOnlyList<InferRequestBody> Bodies { get; } = bodies;

    /// <summary>The next body, cycling through <see cref="Bodies"/>.</summary>
    public InferRequestBody NextBody() => Bodies[(int)((ulong)Interlocked.Increment(ref _next) % (ulong)Bodies.Count)];
}
