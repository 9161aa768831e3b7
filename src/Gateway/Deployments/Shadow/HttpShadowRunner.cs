using System.Globalization;
using System.IO.Hashing;
using System.Net.Http.Headers;
using System.Text;
using ServingGateway.Deployments.Fleet;

namespace ServingGateway.Deployments.Shadow;

/// <summary>
/// Runs a mirrored request on a node (role edge): <c>POST /v2/models/{model}/versions/{version}/infer</c> to one
/// available node of the REST cluster (the same node for every shadow of a model, so that its answers come from one
/// place), with the edge's node key, over the client settings YARP forwards with (both <see cref="NodeFanOut"/>'s). A node
/// the rollout has not loaded the version on answers 404: an error of the shadow version, as it should be.
/// </summary>
internal sealed class HttpShadowRunner(NodeFanOut nodes) : IShadowRunner
{
    public async Task<ShadowAnswer> RunAsync(ShadowRequest request, CancellationToken cancellationToken)
    {
        var node = Node(request.Model) ?? throw new InvalidOperationException("no node is available to run the shadow on");
        var version = request.Version.ToString(CultureInfo.InvariantCulture);
        using var message = new HttpRequestMessage(HttpMethod.Post, $"{node}/v2/models/{Uri.EscapeDataString(request.Model)}/versions/{version}/infer")
        {
            Version = System.Net.HttpVersion.Version11,
            Content = new ReadOnlyMemoryContent(request.Body),
        };
        if (request.ContentType is { } contentType && MediaTypeHeaderValue.TryParse(contentType, out var parsed))
        {
            message.Content.Headers.ContentType = parsed;
        }

        if (request.HeaderLength is { } headerLength)
        {
            message.Content.Headers.TryAddWithoutValidation(InProcessShadowRunner.HeaderLengthHeader, headerLength);
        }

        using var response = await nodes.SendToNodeAsync(message, cancellationToken).ConfigureAwait(false);
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        int? length = response.Headers.TryGetValues(InProcessShadowRunner.HeaderLengthHeader, out var values)
            && int.TryParse(values.FirstOrDefault(), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : null;
        return new ShadowAnswer((int)response.StatusCode, body, length);
    }

    // One available node for the model: its hash over the available nodes in address order.
    private string? Node(string model)
    {
        var available = nodes.AvailableNodes();
        return available.Count == 0 ? null : available[(int)(XxHash3.HashToUInt64(Encoding.UTF8.GetBytes(model)) % (ulong)available.Count)];
    }
}
