using System.Globalization;
using System.IO.Hashing;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.Extensions.Options;
using ServingGateway.Edge;
using ServingGateway.Routing;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Forwarder;

namespace ServingGateway.Deployments.Shadow;

/// <summary>
/// Runs a mirrored request on a node (role edge): <c>POST /v2/models/{model}/versions/{version}/infer</c> to one
/// available node of the REST cluster (the same node for every shadow of a model, so that its answers come from one
/// place), with the edge's node key, over the client settings YARP forwards with. A node the rollout has not loaded
/// the version on answers 404: an error of the shadow version, as it should be.
/// </summary>
internal sealed class HttpShadowRunner(IProxyStateLookup proxy, IForwarderHttpClientFactory clients, IOptionsMonitor<EdgeOptions> edge) : IShadowRunner, IDisposable
{
    private readonly Lazy<HttpMessageInvoker> _client = new(() => clients.CreateClient(new ForwarderHttpClientContext { NewConfig = Yarp.ReverseProxy.Configuration.HttpClientConfig.Empty }));

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

        if (edge.CurrentValue.NodeKey is { Length: > 0 } key)
        {
            message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        using var response = await _client.Value.SendAsync(message, cancellationToken).ConfigureAwait(false);
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        int? length = response.Headers.TryGetValues(InProcessShadowRunner.HeaderLengthHeader, out var values)
            && int.TryParse(values.FirstOrDefault(), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : null;
        return new ShadowAnswer((int)response.StatusCode, body, length);
    }

    // One available node for the model: its hash over the available nodes in address order.
    private string? Node(string model)
    {
        if (!proxy.TryGetCluster(NodeDiscovery.ClusterId, out var cluster))
        {
            return null;
        }

        var nodes = cluster.DestinationsState.AvailableDestinations.Select(d => d.Model.Config.Address.TrimEnd('/')).Order(StringComparer.Ordinal).ToList();
        return nodes.Count == 0 ? null : nodes[(int)(XxHash3.HashToUInt64(Encoding.UTF8.GetBytes(model)) % (ulong)nodes.Count)];
    }

    public void Dispose()
    {
        if (_client.IsValueCreated)
        {
            _client.Value.Dispose();
        }
    }
}
