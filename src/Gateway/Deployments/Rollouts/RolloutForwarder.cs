using System.Net.Http.Headers;
using ServingGateway.Auth;
using ServingGateway.Inference.Common;

namespace ServingGateway.Deployments.Rollouts;

/// <summary>
/// On an edge that does not drive the rollouts (another holds the lease, <see cref="IRolloutLease"/>): sends a rollout
/// admin call on to the driving edge as it came (method, path, body, the caller's key) and answers with its answer, so
/// that an operator may call any edge. The driver checks the key again. A call is forwarded once, never again.
/// </summary>
internal sealed class RolloutForwarder(IRolloutLease lease) : IDisposable
{
    /// <summary>Marks a forwarded call: the edge it reaches answers it or refuses, and never forwards it on.</summary>
    public const string Header = "X-SG-Forwarded-Rollout";

    private readonly HttpClient _client = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(1) }) { Timeout = TimeSpan.FromSeconds(30) };

    public void Dispose() => _client.Dispose();

    /// <summary>Forwards the call, whose body is <paramref name="body"/> (already read and bounded), and writes the driver's answer.</summary>
    public async Task ForwardAsync(HttpContext context, byte[] body)
    {
        if (context.Request.Headers.ContainsKey(Header))
        {
            await ErrorResponse.WriteAsync(context, StatusCodes.Status503ServiceUnavailable,
                "the edge this call was forwarded to does not drive the rollouts either (the lease just moved): retry in a second");
            return;
        }

        if (lease.HolderUrl() is not { } driver)
        {
            await ErrorResponse.WriteAsync(context, StatusCodes.Status503ServiceUnavailable,
                "no edge drives the rollouts right now (the lease is free or Redis cannot be read): retry in a second");
            return;
        }

        using var request = new HttpRequestMessage(new HttpMethod(context.Request.Method), driver + context.Request.Path + context.Request.QueryString);
        foreach (var name in ApiKeyMiddleware.KeyHeaders)
        {
            if (context.Request.Headers.TryGetValue(name, out var value))
            {
                request.Headers.TryAddWithoutValidation(name, (IEnumerable<string>)value!);
            }
        }

        request.Headers.TryAddWithoutValidation(Header, "1");
        if (body.Length > 0 || HttpMethods.IsPost(context.Request.Method))
        {
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = MediaTypeHeaderValue.TryParse(context.Request.ContentType, out var type) ? type : new MediaTypeHeaderValue("application/json");
        }

        HttpResponseMessage response;
        try
        {
            response = await _client.SendAsync(request, context.RequestAborted);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !context.RequestAborted.IsCancellationRequested)
        {
            await ErrorResponse.WriteAsync(context, StatusCodes.Status503ServiceUnavailable,
                $"the edge that drives the rollouts ({driver}) cannot be reached ({ex.Message}): retry once its lease expires and another edge takes over");
            return;
        }

        using (response)
        {
            context.Response.StatusCode = (int)response.StatusCode;
            if (response.Content.Headers.ContentType is { } contentType)
            {
                context.Response.ContentType = contentType.ToString();
            }

            if (response.Headers.Location is { } location)
            {
                context.Response.Headers.Location = location.ToString();
            }

            await response.Content.CopyToAsync(context.Response.Body, context.RequestAborted);
        }
    }
}
