using System.Collections.Concurrent;
using System.Net;
using ServingGateway.TestSupport;

namespace ServingGateway.FunctionalTests.Infrastructure;

/// <summary>
/// Light steady load for rollout tests: <c>clients</c> loops, each sending one infer request then pausing, about 50
/// requests a second in all; records every failed answer and the versions served (X-Model-Version) until stopped.
/// </summary>
internal sealed class SteadyLoad : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task[] _clients;

    /// <summary>Starts the loops on <paramref name="clients"/> (one or more, used in turn), each posting <paramref name="body"/> to <paramref name="path"/> with <paramref name="key"/>.</summary>
    public SteadyLoad(IReadOnlyList<HttpClient> clients, string path, string body, string? key, int loops = 2, TimeSpan? pause = null)
    {
        var wait = pause ?? TimeSpan.FromMilliseconds(40);
        _clients = [.. Enumerable.Range(0, loops).Select(i => Task.Run(async () =>
        {
            var client = clients[i % clients.Count];
            while (!_stop.IsCancellationRequested)
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = Oip.Json(body) };
                if (key is not null)
                {
                    request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
                }

                using var response = await client.SendAsync(request);
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    Failures.Enqueue($"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                }

                Versions.AddOrUpdate(response.Headers.TryGetValues("X-Model-Version", out var v) ? v.Single() : "none", 1, (_, n) => n + 1);
                await Task.Delay(wait);
            }
        }))];
    }

    /// <summary>Every answer other than 200: status and body.</summary>
    public ConcurrentQueue<string> Failures { get; } = new();

    /// <summary>Answers by the version they name.</summary>
    public ConcurrentDictionary<string, int> Versions { get; } = new();

    /// <summary>
    /// Waits until <paramref name="count"/> answers have come back: a rollout judged on latency starts once the server's
    /// first seconds (JIT tiering, first requests on each path) are behind it, so that they do not land in the current
    /// version's window and stand in for its p99.
    /// </summary>
    public Task AnsweredAsync(int count) => Poll.UntilAsync(() => Versions.Values.Sum() >= count, $"{count} answers to the steady load");

    /// <summary>Stops the loops and waits for them.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_clients);
        _stop.Dispose();
    }
}
