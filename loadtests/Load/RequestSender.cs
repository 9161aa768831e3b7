using System.Net.Sockets;
using System.Text.Json;

namespace ServingGateway.LoadTool.Load;

/// <summary>
/// Sends infer requests to the targets over one <see cref="HttpClient"/> and turns every result into
/// a <see cref="RequestOutcome"/>: the status, the reason of a failure (the <c>error</c> of the JSON
/// error body, or the transport error), and the X-Cache, X-Served-By and X-Model-Version headers. A response counts
/// as finished when its body has been read to the end, as in wrk.
/// </summary>
internal sealed class RequestSender(HttpClient client, IReadOnlyList<LoadTarget> targets, TargetSelector selector) : IRequestSender
{
    /// <summary>Longest error reason kept; longer ones are cut.</summary>
    public const int MaxReasonLength = 120;

    /// <summary>Sends request <paramref name="index"/> of the run to the target the selector picks.</summary>
    public Task<RequestOutcome> SendAsync(long index, CancellationToken cancellationToken) =>
        SendToAsync(selector.Pick(index), cancellationToken);

    /// <summary>Sends the next body of target <paramref name="targetIndex"/>.</summary>
    public async Task<RequestOutcome> SendToAsync(int targetIndex, CancellationToken cancellationToken)
    {
        var target = targets[targetIndex];
        using var request = new HttpRequestMessage(HttpMethod.Post, target.InferUri) { Content = target.NextBody().CreateContent() };
        try
        {
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            var status = (int)response.StatusCode;
            var cache = Header(response, "X-Cache");
            var servedBy = Header(response, "X-Served-By");
            var version = Header(response, "X-Model-Version");
            if (response.IsSuccessStatusCode)
            {
                await response.Content.CopyToAsync(Stream.Null, cancellationToken).ConfigureAwait(false);
                return new RequestOutcome(targetIndex, status, null, cache, servedBy, Version: version);
            }

            var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            return new RequestOutcome(targetIndex, status, ErrorReason(body), cache, servedBy, response.Headers.RetryAfter is not null, version);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return RequestOutcome.Abort(targetIndex);
        }
        catch (OperationCanceledException)
        {
            return RequestOutcome.Failure(targetIndex, "timeout");
        }
        catch (HttpRequestException ex)
        {
            return RequestOutcome.Failure(targetIndex, TransportReason(ex));
        }
        catch (IOException ex)
        {
            return RequestOutcome.Failure(targetIndex, Cut(ex.Message));
        }
        catch (InvalidOperationException ex)
        {
            // HttpClient's own refusals (e.g. a request it cannot send); an error, not a crash.
            return RequestOutcome.Failure(targetIndex, Cut(ex.Message));
        }
    }

    /// <summary>The <c>error</c> of an OIP error body, or the body itself, cut to <see cref="MaxReasonLength"/>.</summary>
    public static string ErrorReason(string body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("error", out var error)
                && error.ValueKind == JsonValueKind.String)
            {
                return Cut(error.GetString()!);
            }
        }
        catch (JsonException)
        {
            // Not JSON (a proxy's HTML page, plain text): the body is the reason.
        }

        return body.Length == 0 ? "(empty body)" : Cut(body.ReplaceLineEndings(" "));
    }

    /// <summary>Why a request got no response: the socket error or HttpClient's error class, else the message.</summary>
    internal static string TransportReason(HttpRequestException ex) => ex.InnerException switch
    {
        SocketException socket => $"connection: {socket.SocketErrorCode}",
        _ when ex.HttpRequestError != HttpRequestError.Unknown => $"connection: {ex.HttpRequestError}",
        _ => Cut(ex.Message),
    };

    /// <summary><paramref name="text"/> cut to <see cref="MaxReasonLength"/>.</summary>
    internal static string Cut(string text) => text.Length <= MaxReasonLength ? text : string.Concat(text.AsSpan(0, MaxReasonLength - 1), "…");

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(",", values) : null;
}
