using Microsoft.Extensions.Logging.Abstractions;
using ServingGateway.Inference;
using ServingGateway.Inference.Runtime;
using ServingGateway.Inference.Tests.Runtime;

namespace ServingGateway.GpuCheck;

/// <summary>
/// In-process items/s of one executor (the server's: CudaModelInstance on CUDA, host copies included) running
/// batches of each size back to back, no HTTP: the ceiling the served sweep is judged against.
/// Prints "batch items/s ms-per-batch" lines; exit 3 when the provider asked for cannot be used.
/// </summary>
internal static class Sweep
{
    public static int Run(string[] args)
    {
        if (Options.Parse(args, "--model", "--provider", "--batch-sizes", "--seconds", "--sequence") is not { } options || options.Get("--model") is not { } model)
        {
            Console.Error.WriteLine("sweep: --model FILE is required");
            return 2;
        }

        var provider = options.Get("--provider", "cuda") == "cpu" ? ExecutionProviderKind.Cpu : ExecutionProviderKind.Cuda;
        var sizes = options.Sizes("--batch-sizes", [1, 2, 4, 8, 16, 32, 64]);
        var seconds = TimeSpan.FromSeconds(options.Number("--seconds", 5));
        var sequence = (int)options.Number("--sequence", 16);
        ModelExecutors created;
        try
        {
            created = new OnnxSessionFactory(NullLogger<OnnxSessionFactory>.Instance)
                .CreateExecutors(model, new SessionSettings(provider, 0, provider == ExecutionProviderKind.Cpu ? 0 : 1, 1), 1, sizes.Max(), sizes.Max(), new RuntimeCounters());
        }
        catch (InvalidDataException ex)
        {
            Console.Error.WriteLine($"sweep: {ex.Message}");
            return 3;
        }

        var executor = created.Executors[0];
        Console.Error.WriteLine($"sweep: {model} on {created.Provider} ({executor.GetType().Name}), {seconds.TotalSeconds:0.#} s per batch size");
        foreach (var size in sizes)
        {
            var inputs = ExecutorParity.Inputs(created.Signature, size, sequence, seed: size);
            var time = TimeProvider.System;
            var started = time.GetTimestamp();
            while (time.GetElapsedTime(started) < TimeSpan.FromSeconds(1))
            {
                ExecutorParity.DisposeAll(ExecutorParity.Run(executor, created.Signature, inputs, size));
            }

            var batches = 0L;
            started = time.GetTimestamp();
            while (time.GetElapsedTime(started) < seconds)
            {
                ExecutorParity.DisposeAll(ExecutorParity.Run(executor, created.Signature, inputs, size));
                batches++;
            }

            var elapsed = time.GetElapsedTime(started);
            Console.WriteLine(FormattableString.Invariant($"{size} {batches * size / elapsed.TotalSeconds:0.0} {elapsed.TotalMilliseconds / batches:0.000}"));
            ExecutorParity.DisposeAll(inputs);
        }

        executor.Dispose();
        return 0;
    }
}
