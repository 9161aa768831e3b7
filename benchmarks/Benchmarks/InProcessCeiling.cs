using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using ServingGateway.Inference;
using ServingGateway.Inference.Runtime;

namespace ServingGateway.Benchmarks;

/// <summary>
/// The most items per second ONNX Runtime reaches in this process with the server's session settings:
/// N sessions (intra-op threads as configured), one thread each running batches of a given size back to
/// back, for each batch size asked. The server's served items/s is judged against the best of these.
/// </summary>
/// <remarks>
/// Usage: ceiling --model FILE [--instances 2] [--threads 1] [--batch-sizes 1,2,4,8,16,32] [--seconds 10]
///                [--dim NAME=VALUE ...] [--input NAME=const:V | NAME=int:LO:HI ...] [--pause-ms 0]
/// Dynamic dimensions: the first is the batch size, named ones take --dim, others 1. Inputs: FP32 random
/// in [0, 1); INT64 as --input says (default random 0..999). Prints one Markdown row per batch size, with the time of one run
/// (p50, p99 and max over every session's runs). --pause-ms sleeps that long after each run: the runs of a model
/// serving a low request rate, which start on an idle core (items/s then means nothing).
/// </remarks>
internal static class InProcessCeiling
{
    public static int Run(string[] args)
    {
        string? model = null;
        var instances = 2;
        var threads = 1;
        int[] sizes = [1, 2, 4, 8, 16, 32];
        var seconds = 10.0;
        var pause = 0;
        var dims = new Dictionary<string, long>();
        var fills = new Dictionary<string, string>();
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            var value = args[i + 1];
            switch (args[i])
            {
                case "--model": model = value; break;
                case "--instances": instances = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--threads": threads = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--batch-sizes": sizes = [.. value.Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture))]; break;
                case "--pause-ms": pause = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--seconds": seconds = double.Parse(value, CultureInfo.InvariantCulture); break;
                case "--dim": dims[value.Split('=')[0]] = long.Parse(value.Split('=')[1], CultureInfo.InvariantCulture); break;
                case "--input": fills[value.Split('=')[0]] = value.Split('=')[1]; break;
                default: Console.Error.WriteLine($"unknown option {args[i]}"); return 2;
            }
        }

        if (model is null)
        {
            Console.Error.WriteLine("ceiling: --model FILE is required");
            return 2;
        }

        var factory = new OnnxSessionFactory(NullLogger<OnnxSessionFactory>.Instance);
        var sessions = Enumerable.Range(0, instances)
            .Select(_ => factory.Create(model, new SessionSettings(ExecutionProviderKind.Cpu, 0, threads, 1), out string _))
            .ToArray();
        Console.WriteLine($"model {model}: {instances} session(s), intra-op threads {threads}, {seconds:0.#} s per batch size");
        Console.WriteLine();
        Console.WriteLine("| batch size | items/s | ms per batch | run p50 (ms) | run p99 (ms) | run max (ms) |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|");
        var best = (Size: 0, ItemsPerSecond: 0.0);
        foreach (var size in sizes)
        {
            var itemsPerSecond = Measure(sessions, size, dims, fills, TimeSpan.FromSeconds(seconds), pause, out var msPerBatch, out var runs);
            Console.WriteLine($"| {size} | {itemsPerSecond:0.0} | {msPerBatch:0.00} | {Percentile(runs, 0.50):0.00} | {Percentile(runs, 0.99):0.00} | {Percentile(runs, 1):0.00} |");
            if (itemsPerSecond > best.ItemsPerSecond)
            {
                best = (size, itemsPerSecond);
            }
        }

        Console.WriteLine();
        Console.WriteLine($"best: {best.ItemsPerSecond:0.0} items/s at batch size {best.Size}");
        foreach (var session in sessions)
        {
            session.Dispose();
        }

        return 0;
    }

    // The q-quantile of sorted values (the nearest rank); 0 when there are none.
    private static double Percentile(List<double> sorted, double q) =>
        sorted.Count == 0 ? 0 : sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Count) - 1, 0, sorted.Count - 1)];

    private static double Measure(InferenceSession[] sessions, int size, Dictionary<string, long> dims, Dictionary<string, string> fills, TimeSpan duration, int pause,
        out double msPerBatch, out List<double> runs)
    {
        var batches = new long[sessions.Length];
        var times = sessions.Select(_ => new List<double>()).ToArray();
        var warmUp = TimeSpan.FromSeconds(Math.Min(2, duration.TotalSeconds / 4));
        var workers = sessions.Select((session, i) => new Thread(() =>
        {
            var inputs = CreateInputs(session, size, dims, fills, seed: i);
            var names = session.InputNames.ToArray();
            using var options = new RunOptions();
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < warmUp)
            {
                using var warm = session.Run(options, names, inputs, session.OutputNames);
            }

            clock.Restart();
            var count = 0L;
            while (clock.Elapsed < duration)
            {
                var started = Stopwatch.GetTimestamp();
                using (session.Run(options, names, inputs, session.OutputNames))
                {
                    times[i].Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                }

                count++;
                if (pause > 0)
                {
                    Thread.Sleep(pause);
                }
            }

            batches[i] = count;
            foreach (var input in inputs)
            {
                input.Dispose();
            }
        })).ToArray();
        foreach (var worker in workers)
        {
            worker.Start();
        }

        foreach (var worker in workers)
        {
            worker.Join();
        }

        runs = [.. times.SelectMany(t => t).Order()];
        var total = batches.Sum();
        msPerBatch = total == 0 ? 0 : duration.TotalMilliseconds * sessions.Length / total;
        return total * size / duration.TotalSeconds;
    }

    private static OrtValue[] CreateInputs(InferenceSession session, int size, Dictionary<string, long> dims, Dictionary<string, string> fills, int seed)
    {
        var random = new Random(seed);
        var values = new List<OrtValue>();
        foreach (var name in session.InputNames)
        {
            var metadata = session.InputMetadata[name];
            var shape = metadata.Dimensions.Select((d, i) => d >= 0 ? d : i == 0 ? size : dims.GetValueOrDefault(metadata.SymbolicDimensions[i], 1)).ToArray();
            var count = shape.Aggregate(1L, (a, b) => a * b);
            if (metadata.ElementDataType == TensorElementType.Int64)
            {
                var fill = fills.GetValueOrDefault(name, "int:0:999").Split(':');
                var data = new long[count];
                for (var i = 0; i < data.Length; i++)
                {
                    data[i] = fill[0] == "const" ? long.Parse(fill[1], CultureInfo.InvariantCulture) : random.NextInt64(long.Parse(fill[1], CultureInfo.InvariantCulture), long.Parse(fill[2], CultureInfo.InvariantCulture) + 1);
                }

                values.Add(OrtValue.CreateTensorValueFromMemory(data, shape));
            }
            else
            {
                values.Add(OrtValue.CreateTensorValueFromMemory(Enumerable.Range(0, (int)count).Select(_ => random.NextSingle()).ToArray(), shape));
            }
        }

        return [.. values];
    }
}
