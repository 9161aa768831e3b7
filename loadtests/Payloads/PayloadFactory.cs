using System.Net;
using ServingGateway.LoadTool.Cli;
using ServingGateway.LoadTool.Load;

namespace ServingGateway.LoadTool.Payloads;

/// <summary>
/// Builds a <see cref="LoadTarget"/> from a model's options: its request bodies (generated from
/// <c>GET /v2/models/{model}</c>, or read from files) encoded as JSON or binary, and its infer URL.
/// </summary>
internal static class PayloadFactory
{
    public static async Task<LoadTarget> CreateAsync(HttpClient client, Uri baseUrl, TargetOptions target, CancellationToken cancellationToken)
    {
        var modelUri = new Uri(baseUrl, $"v2/models/{Uri.EscapeDataString(target.Model)}");
        var binary = target.Binary ?? false;
        var source = target.Payload ?? PayloadSource.Generated;
        IReadOnlyList<InferRequestBody> bodies;
        switch (source.Kind)
        {
            case PayloadKind.Generated:
                var metadata = ModelMetadata.Parse(await GetMetadataAsync(client, modelUri, cancellationToken).ConfigureAwait(false));
                bodies = [.. Enumerable.Range(1, target.Variants ?? 1)
                    .Select(seed => PayloadEncoder.Encode(PayloadGenerator.Generate(metadata, target.Dims, seed), binary))];
                break;
            case PayloadKind.File:
                bodies = [PayloadEncoder.Encode(RequestFiles.ReadOne(source.Path!), binary)];
                break;
            default:
                bodies = [.. RequestFiles.ReadRecorded(source.Path!).Select(r => PayloadEncoder.Encode(r, binary))];
                break;
        }

        return new LoadTarget(target.Model, new Uri(modelUri + "/infer"), target.Weight, bodies);
    }

    /// <summary><paramref name="url"/> with a trailing slash, so relative paths go below it.</summary>
    public static Uri BaseUrl(Uri url) =>
        url.AbsolutePath.EndsWith('/') ? url : new UriBuilder(url) { Path = url.AbsolutePath + "/" }.Uri;

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
}
