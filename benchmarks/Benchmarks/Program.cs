using BenchmarkDotNet.Running;
using ServingGateway.Benchmarks;

// `ceiling ...`: the in-process ONNX Runtime ceiling (InProcessCeiling.cs); anything else goes to BenchmarkDotNet.
if (args.Length > 0 && args[0] == "ceiling")
{
    return InProcessCeiling.Run(args[1..]);
}

BenchmarkSwitcher.FromAssembly(typeof(BatcherBenchmarks).Assembly).Run(args);
return 0;
