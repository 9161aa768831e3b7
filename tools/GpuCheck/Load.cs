using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using ServingGateway.Inference.Runtime;
using ServingGateway.Inference.Tensors;
using ServingGateway.Inference.Tests.Runtime;

namespace ServingGateway.GpuCheck;

/// <summary>
/// Served items/s: C connections each sending one-row requests back to back to /v2/models/NAME/infer with the
/// binary tensor data extension (inputs and outputs as binary), so the dynamic batcher can form batches of up to C
/// rows. Prints "connections items/s errors"; exit 1 when a request failed.
/// </summary>
internal static class Load
{
    public static async Task<int> RunAsync(string[] args)
    {
        if (Options.Parse(args, "--url", "--model", "--file", "--connections", "--seconds", "--sequence") is not { } options
            || options.Get("--url") is not { } url || options.Get("--model") is not { } name || options.Get("--file") is not { } file)
        {
            Console.Error.WriteLine("load: --url, --model and --file are required");
            return 2;
        }

        var connections = (int)options.Number("--connections", 8);
        var seconds = TimeSpan.FromSeconds(options.Number("--seconds", 10));
        var body = Body(file, (int)options.Number("--sequence", 16), out var headerLength);
        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = connections, UseProxy = false };
        using var client = new HttpClient(handler) { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(30) };
        var time = TimeProvider.System;
        var errors = 0L;
        var measuring = false;
        var items = 0L;

        async Task WorkerAsync(CancellationToken stop)
        {
            while (!stop.IsCancellationRequested)
            {
                using var content = new ByteArrayContent(body);
                content.Headers.ContentType = new("application/octet-stream");
                content.Headers.Add("Inference-Header-Content-Length", headerLength.ToString(System.Globalization.CultureInfo.InvariantCulture));
                try
                {
                    using var response = await client.PostAsync($"v2/models/{name}/infer", content, CancellationToken.None);
                    await response.Content.ReadAsByteArrayAsync(CancellationToken.None);
                    if (response.StatusCode != HttpStatusCode.OK)
                    {
                        Interlocked.Increment(ref errors);
                    }
                    else if (Volatile.Read(ref measuring))
                    {
                        Interlocked.Increment(ref items);
                    }
                }
                catch (HttpRequestException)
                {
                    Interlocked.Increment(ref errors);
                }
            }
        }

        using var stop = new CancellationTokenSource();
        var workers = Enumerable.Range(0, connections).Select(_ => Task.Run(() => WorkerAsync(stop.Token))).ToArray();
        await Task.Delay(TimeSpan.FromSeconds(2), time); // warm-up: connections open, the batcher settles
        Volatile.Write(ref measuring, true);
        var started = time.GetTimestamp();
        await Task.Delay(seconds, time);
        Volatile.Write(ref measuring, false);
        var elapsed = time.GetElapsedTime(started);
        await stop.CancelAsync();
        await Task.WhenAll(workers);
        Console.WriteLine(FormattableString.Invariant($"{connections} {Interlocked.Read(ref items) / elapsed.TotalSeconds:0.0} {errors}"));
        return errors == 0 ? 0 : 1;
    }

    // One row of seeded inputs as the binary extension carries them: the JSON header, then each input's bytes.
    private static byte[] Body(string file, int sequence, out int headerLength)
    {
        using var session = new InferenceSession(file);
        var signature = OnnxSessionFactory.ReadSignature(session, null, 1);
        var inputs = ExecutorParity.Inputs(signature, 1, sequence, seed: 1);
        try
        {
            var header = JsonSerializer.Serialize(new
            {
                inputs = inputs.Select(t => new { name = t.Name, shape = t.Shape, datatype = t.DataType.ToOipName(), parameters = new { binary_data_size = t.Length } }),
                outputs = signature.Outputs.Select(o => new { name = o.Name, parameters = new { binary_data = true } }),
            });
            var bytes = Encoding.UTF8.GetBytes(header);
            headerLength = bytes.Length;
            return [.. bytes, .. inputs.SelectMany(t => t.Span.ToArray())];
        }
        finally
        {
            ExecutorParity.DisposeAll(inputs);
        }
    }
}
