using System.Net;
using System.Net.Sockets;
using System.Text;
using ServingGateway.FunctionalTests.Infrastructure;
using ServingGateway.Inference.Serving;
using ServingGateway.TestSupport;

namespace ServingGateway.FunctionalTests;

/// <summary>Request bodies in memory are bounded server-wide (Inference:MaxBufferedRequestMb), whatever clients declare.</summary>
public sealed class MemoryBoundsTests
{
    private static readonly string MlpRequest = Oip.JsonRequest("input", [1, 64], new float[64]);

    [Fact]
    public async Task Infer_BufferBudgetSpentBySlowSenders_Is503WithRetryAfterThenRecovers()
    {
        // A 2 MiB budget; two senders each declare a 1 MiB body, send all but 1 KiB of it, and stall: their
        // segments (16 KiB doubling to 512 KiB, then the 16 KiB still declared) hold exactly 1 MiB apiece.
        await using var server = await GatewayServer.StartAsync(
            RepoPaths.TestModels, "--Inference:MaxRequestBodyBytes", "1048576", "--Inference:MaxBufferedRequestMb", "2");
        var stallers = new List<TcpClient>();
        try
        {
            for (var i = 0; i < 2; i++)
            {
                var tcp = new TcpClient();
                stallers.Add(tcp);
                await tcp.ConnectAsync(server.BaseAddress.Host, server.BaseAddress.Port);
                var stream = tcp.GetStream();
                await stream.WriteAsync(Encoding.ASCII.GetBytes("POST /v2/models/mlp/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1048576\r\n\r\n"));
                await stream.WriteAsync(new byte[1048576 - 1024]);
            }

            // The stalled bytes reach the server as the network delivers them: wait until it holds them all
            // (a request sent before could take budget a staller then misses, and refuse the staller instead).
            var budget = server.Services<RequestBodyBudget>();
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (budget.ChargedBytes < 2 * 1048576)
            {
                Assert.True(DateTime.UtcNow < deadline, $"the stalled bodies were not buffered within 30 s ({budget.ChargedBytes} bytes)");
                await Task.Delay(20);
            }

            using var refused = await server.Client.PostAsync("v2/models/mlp/infer", Oip.Json(MlpRequest));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.Equal("1", refused.Headers.RetryAfter?.ToString());
            Assert.Contains("Inference:MaxBufferedRequestMb", await Oip.ReadErrorAsync(refused), StringComparison.Ordinal);
        }
        finally
        {
            foreach (var tcp in stallers)
            {
                tcp.Dispose();
            }
        }

        // The stalled senders gone, their memory is given back and valid requests are served again.
        using var served = await PollAsync(server.Client, HttpStatusCode.OK);
        await Oip.ReadAsync(served);
    }

    private static async Task<HttpResponseMessage> PollAsync(HttpClient client, HttpStatusCode expected)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var response = await client.PostAsync("v2/models/mlp/infer", Oip.Json(MlpRequest));
            if (response.StatusCode == expected)
            {
                return response;
            }

            Assert.True(response.StatusCode is HttpStatusCode.OK or HttpStatusCode.ServiceUnavailable, $"{response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
            response.Dispose();
            Assert.True(DateTime.UtcNow < deadline, $"no {expected} within 30 s; last {response.StatusCode}");
            await Task.Delay(50);
        }
    }
}
