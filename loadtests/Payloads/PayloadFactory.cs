using System.Net;
using System.Text.Json.Nodes;
using Grpc.Core;
using ServingGateway.LoadTool.Cli;
using ServingGateway.LoadTool.Load;
using GrpcClient = OpenInferenceProtocol.GRPCInferenceService.GRPCInferenceServiceClient;

namespace ServingGateway.LoadTool.Payloads;

/// <summary>
/// Builds a <see cref="LoadTarget"/> from a model's options: its requests (generated from the model's metadata,
/// or read from files) encoded as JSON, binary extension or a gRPC <c>ModelInferRequest</c>, and where they go.
/// The metadata comes from <c>GET /v2/models/{model}</c> (REST) or the ModelMetadata RPC (gRPC).
/// </summary>
internal static class PayloadFactory
{
    public static async Task<LoadTarget> CreateAsync(HttpClient client, Uri baseUrl, TargetOptions target, CancellationToken cancellationToken)
    {
        var modelUri = new Uri(baseUrl, $"v2/models/{Uri.EscapeDataString(target.Model)}");
        var binary = target.Binary ?? false;
        var requests = await RequestsAsync(target, async () => ModelMetadata.Parse(await GetMetadataAsync(client, modelUri, cancellationToken).ConfigureAwait(false)))
            .ConfigureAwait(false);
        return new LoadTarget(target.Model, new Uri(modelUri + "/infer"), target.Weight, [.. requests.Select(r => PayloadEncoder.Encode(r, binary))]);
    }

    /// <summary>The gRPC form: the metadata through <paramref name="client"/>, the requests as serialized ModelInferRequests.</summary>
    public static async Task<LoadTarget> CreateGrpcAsync(GrpcClient client, Uri url, Metadata? headers, TimeSpan timeout, TargetOptions target, CancellationToken cancellationToken)
    {
        var requests = await RequestsAsync(target, () => GetGrpcMetadataAsync(client, url, headers, timeout, target.Model, cancellationToken)).ConfigureAwait(false);
        return new LoadTarget(target.Model, new Uri(BaseUrl(url), GrpcRequestSender.InferPath), target.Weight, [.. requests.Select(r => GrpcPayloadEncoder.Encode(r, target.Model))]);
    }

    /// <summary><paramref name="url"/> with a trailing slash, so relative paths go below it.</summary>
    public static Uri BaseUrl(Uri url) =>
        url.AbsolutePath.EndsWith('/') ? url : new UriBuilder(url) { Path = url.AbsolutePath + "/" }.Uri;

    private static async Task<IReadOnlyList<JsonObject>> RequestsAsync(TargetOptions target, Func<Task<ModelMetadata>> metadata)
    {
        var source = target.Payload ?? PayloadSource.Generated;
        switch (source.Kind)
        {
            case PayloadKind.Generated:
                var model = await metadata().ConfigureAwait(false);
                return [.. Enumerable.Range(1, target.Variants ?? 1).Select(seed => PayloadGenerator.Generate(model, target.Dims, seed))];
            case PayloadKind.File:
                return [RequestFiles.ReadOne(source.Path!)];
            default:
                return RequestFiles.ReadRecorded(source.Path!);
        }
    }

    private static async Task<string> GetMetadataAsync(HttpClient client, Uri uri, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await client.GetAsync(uri, cancellationToken).ConfigureAwait(false);
            var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            return response.StatusCode == HttpStatusCode.OK
                ? body
                : throw new LoadToolException($"GET {uri} answered {(int)response.StatusCode}: {RequestSender.ErrorReason(body)}");
        }
        catch (HttpRequestException ex)
        {
            throw new LoadToolException($"cannot reach {uri}: {ex.Message}");
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new LoadToolException($"GET {uri} timed out");
        }
    }

    private static async Task<ModelMetadata> GetGrpcMetadataAsync(GrpcClient client, Uri url, Metadata? headers, TimeSpan timeout, string model, CancellationToken cancellationToken)
    {
        OpenInferenceProtocol.ModelMetadataResponse response;
        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutSource.CancelAfter(timeout);
        try
        {
            response = await client.ModelMetadataAsync(new() { Name = model }, headers, cancellationToken: timeoutSource.Token).ConfigureAwait(false);
        }
        catch (RpcException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new LoadToolException(timeoutSource.IsCancellationRequested ? $"ModelMetadata '{model}' at {url} timed out"
                : ex.Status.DebugException is { } transport
                ? $"cannot reach {url} (gRPC): {transport.Message}"
                : $"ModelMetadata '{model}' at {url} answered {Results.ResponseStatus.Grpc(ex.StatusCode)}: {ex.Status.Detail}");
        }

        var inputs = response.Inputs.Select(i => new TensorMetadata(i.Name, i.Datatype, [.. i.Shape])).ToList();
        return inputs.Count > 0 && inputs.All(i => i.Name.Length > 0 && i.Datatype.Length > 0)
            ? new ModelMetadata(response.Name, inputs)
            : throw new LoadToolException("the model metadata lists no inputs with name, datatype and shape");
    }
}
