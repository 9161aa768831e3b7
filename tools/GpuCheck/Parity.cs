using Microsoft.Extensions.Logging.Abstractions;
using ServingGateway.Inference;
using ServingGateway.Inference.Runtime;
using ServingGateway.Inference.Tests.Runtime;

namespace ServingGateway.GpuCheck;

/// <summary>
/// The GPU tests' comparison (ExecutorParity, shared with GpuParityTests) outside xUnit: for mlp, minilm and
/// resnet18_dynamic, each batch size 1..32, the worst relative error of the CUDA executor against the CPU one.
/// Prints a Markdown table; exit 1 when an error reaches the tolerance, 3 when CUDA cannot be used.
/// </summary>
internal static class Parity
{
    public static int Run(string[] args)
    {
        if (Options.Parse(args, "--models", "--provider") is not { } options)
        {
            return 2;
        }

        var models = options.Get("--models", "models");
        var provider = options.Get("--provider", "cuda") == "cpu" ? ExecutionProviderKind.Cpu : ExecutionProviderKind.Cuda;
        var factory = new OnnxSessionFactory(NullLogger<OnnxSessionFactory>.Instance);
        var counters = new RuntimeCounters();
        Console.WriteLine($"| model | executor | batch sizes | worst relative error | at batch | result (< {ExecutorParity.Tolerance}) |");
        Console.WriteLine("|---|---|---:|---:|---:|---|");
        var failed = false;
        foreach (var model in ExecutorParity.Models)
        {
            var path = Path.Combine(models, model, "1", "model.onnx");
            if (!File.Exists(path))
            {
                Console.WriteLine($"| {model} | | | | | MISSING {path} |");
                failed = true;
                continue;
            }

            ModelExecutors cpu, tested;
            try
            {
                cpu = factory.CreateExecutors(path, new SessionSettings(ExecutionProviderKind.Cpu, 0, 0, 1), 1, null, 32, counters);
                tested = factory.CreateExecutors(path, new SessionSettings(provider, 0, 1, 1), 1, null, 32, counters);
            }
            catch (InvalidDataException ex)
            {
                Console.Error.WriteLine($"parity: {ex.Message}");
                return 3;
            }

            var (worst, at) = (0.0, 0);
            for (var batch = 1; batch <= 32; batch++)
            {
                var inputs = ExecutorParity.Inputs(cpu.Signature, batch, sequence: 16, seed: batch);
                var expected = ExecutorParity.Run(cpu.Executors[0], cpu.Signature, inputs, batch);
                var actual = ExecutorParity.Run(tested.Executors[0], tested.Signature, inputs, batch);
                for (var o = 0; o < expected.Length; o++)
                {
                    var error = ExecutorParity.RelativeError(actual[o], expected[o]);
                    if (!(error <= worst))
                    {
                        (worst, at) = (error, batch);
                    }
                }

                ExecutorParity.DisposeAll(inputs.Concat(expected).Concat(actual));
            }

            var pass = worst < ExecutorParity.Tolerance;
            failed |= !pass;
            Console.WriteLine($"| {model} | {tested.Executors[0].GetType().Name} on {tested.Provider} | 1-32 | {worst:G3} | {at} | {(pass ? "pass" : "FAIL")} |");
            cpu.Executors[0].Dispose();
            tested.Executors[0].Dispose();
        }

        return failed ? 1 : 0;
    }
}
