using System.Net.Http.Headers;
using Microsoft.Extensions.Options;
using ServingGateway.Edge;
using ServingGateway.Routing;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;

namespace ServingGateway.Deployments.Fleet;

/// <summary>
/// Sends one call to every node of the edge's REST cluster at once (healthy or not: a node that cannot take it is
/// reported, not skipped), with the edge's node key, over the same client settings YARP forwards with (the nodes' CA
/// for https). Each call is bounded by <see cref="CallTimeout"/>. Used where one node is not enough: repository
/// load/unload and the deployments' loads; and the one client the deployments reach a single node with
/// (<see cref="SendToNodeAsync"/>: the shadow's runs), so every call from the deployments to a node is authorized alike.
/// </summary>
internal sealed class NodeFanOut(IProxyStateLookup proxy, IForwarderHttpClientFactory clients, IOptionsMonitor<EdgeOptions> edge) : IDisposable
{
    /// <summary>How long one node may take to answer one call (a load includes the model's warm-up).</summary>
    public static readonly TimeSpan CallTimeout = TimeSpan.FromMinutes(2);

    private readonly Lazy<HttpMessageInvoker> _client = new(() => clients.CreateClient(new ForwarderHttpClientContext { NewConfig = HttpClientConfig.Empty }));

    /// <summary>The nodes' REST base URLs, as configured or discovered.</summary>
    public IReadOnlyList<string> Nodes() =>
        proxy.TryGetCluster(NodeDiscovery.ClusterId, out var cluster)
            ? [.. cluster.Destinations.Values.Select(d => d.Model.Config.Address.TrimEnd('/')).Order(StringComparer.Ordinal)]
            : [];

    /// <summary>The nodes routing may send to now (healthy, not passive-failed), by URL in ordinal order.</summary>
    public IReadOnlyList<string> AvailableNodes() =>
        proxy.TryGetCluster(NodeDiscovery.ClusterId, out var cluster)
            ? [.. cluster.DestinationsState.AvailableDestinations.Select(d => d.Model.Config.Address.TrimEnd('/')).Order(StringComparer.Ordinal)]
            : [];

    /// <summary>Sends <paramref name="message"/> (to a node's URL) with the edge's node key; the caller bounds it and disposes the response.</summary>
    public Task<HttpResponseMessage> SendToNodeAsync(HttpRequestMessage message, CancellationToken cancellationToken)
    {
        if (edge.CurrentValue.NodeKey is { Length: > 0 } key)
        {
            message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return _client.Value.SendAsync(message, cancellationToken);
    }

    /// <summary>Sends <paramref name="method"/> <paramref name="path"/> with <paramref name="body"/> (JSON, or none) to every node; one answer per node.</summary>
    public Task<IReadOnlyList<NodeCall>> SendAsync(HttpMethod method, string path, ReadOnlyMemory<byte> body, string? contentType, CancellationToken cancellationToken) =>
        SendAsync(method, path, contentType is null ? static () => null : () =>
        {
            var content = new ReadOnlyMemoryContent(body);
            content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
            return content;
        }, CallTimeout, cancellationToken);

    /// <summary>
    /// Sends <paramref name="method"/> <paramref name="path"/> to every node with the body <paramref name="content"/>
    /// makes (called once per node, so each gets its own stream; null: none), each call bounded by
    /// <paramref name="callTimeout"/>; one answer per node.
    /// </summary>
    public async Task<IReadOnlyList<NodeCall>> SendAsync(HttpMethod method, string path, Func<HttpContent?> content, TimeSpan callTimeout, CancellationToken cancellationToken)
    {
        var nodes = Nodes();
        var calls = nodes.Select(node => SendOneAsync(node, method, path, content, callTimeout, cancellationToken));
        return await Task.WhenAll(calls).ConfigureAwait(false);
    }

    private async Task<NodeCall> SendOneAsync(string node, HttpMethod method, string path, Func<HttpContent?> content, TimeSpan callTimeout, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(callTimeout);
        using var request = new HttpRequestMessage(method, node + path) { Version = System.Net.HttpVersion.Version11, Content = content() };

        try
        {
            using var response = await SendToNodeAsync(request, timeout.Token).ConfigureAwait(false);
            var text = await response.Content.ReadAsStringAsync(timeout.Token).ConfigureAwait(false);
            return new NodeCall(node, (int)response.StatusCode, text);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return new NodeCall(node, 0, ex is OperationCanceledException ? $"no answer within {callTimeout.TotalSeconds:0} s" : ex.Message);
        }
    }

    public void Dispose()
    {
        if (_client.IsValueCreated)
        {
            _client.Value.Dispose();
        }
    }
}
