using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using ServingGateway.FunctionalTests.Infrastructure;
using ServingGateway.TestSupport;

namespace ServingGateway.FunctionalTests;

/// <summary>The ServingGateway executable as a newcomer runs it: from the checkout, serving ./models.</summary>
public class ProcessTests
{
    private static readonly string Executable = Path.Combine(AppContext.BaseDirectory, "ServingGateway.dll");

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static Process Start(string workingDirectory, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(Executable);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        return Process.Start(info)!;
    }

    private static async Task<(int ExitCode, string Out, string Err)> RunToEndAsync(params string[] args)
    {
        using var process = Start(RepoPaths.Root, args);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }

    [Fact]
    public async Task RunCommand_FromCheckout_ServesMlpAsOnnxRuntimeComputesIt()
    {
        var port = FreePort();
        using var process = Start(RepoPaths.Root, "--urls", $"http://127.0.0.1:{port}");
        var stderr = process.StandardError.ReadToEndAsync();
        _ = process.StandardOutput.ReadToEndAsync();
        try
        {
            using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
            var deadline = DateTime.UtcNow.AddSeconds(120);
            while (true)
            {
                try
                {
                    using var ready = await client.GetAsync("v2/health/ready");
                    if (ready.IsSuccessStatusCode)
                    {
                        break;
                    }
                }
                catch (HttpRequestException) when (!process.HasExited && DateTime.UtcNow < deadline)
                {
                }

                if (process.HasExited)
                {
                    Assert.Fail($"the server exited with {process.ExitCode}: {await stderr}");
                }

                Assert.True(DateTime.UtcNow < deadline, "the server was not ready within 120 s");
                await Task.Delay(100);
            }

            var input = Enumerable.Range(0, 64).Select(i => (i - 32) / 16f).ToArray();
            using var response = await client.PostAsync("v2/models/mlp/infer", Oip.Json(Oip.JsonRequest("input", [1, 64], input), "application/x-www-form-urlencoded"));
            var result = await Oip.ReadAsync(response);

            Assert.Equal(OrtReference.Run(RepoPaths.ExampleModel("mlp"), ("input", [1, 64], input))["output"], result.Floats("output"));
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    [Fact]
    public async Task Help_ListsEverySwitchAndExits0()
    {
        var (exitCode, stdout, _) = await RunToEndAsync("--help");

        Assert.Equal(0, exitCode);
        foreach (var expected in new[] { "--role", "--models", "--urls", "--config", "standalone", "node", "edge", "Inference:MaxRequestBodyBytes" })
        {
            Assert.Contains(expected, stdout, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task BadArguments_ListEveryErrorAndExit2()
    {
        var (exitCode, _, stderr) = await RunToEndAsync("--role", "gpu", "--bogus", "1", "--models");

        Assert.Equal(2, exitCode);
        Assert.Contains("--role must be standalone, node or edge", stderr, StringComparison.Ordinal);
        Assert.Contains("unknown switch --bogus", stderr, StringComparison.Ordinal);
        Assert.Contains("--models needs a value", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InvalidConfiguration_ListsEveryErrorAndExits2()
    {
        var (exitCode, _, stderr) = await RunToEndAsync(
            "--urls", $"http://127.0.0.1:{FreePort()}", "--Inference:DefaultInstances", "0", "--Inference:MaxRequestBodyBytes", "5");

        Assert.Equal(2, exitCode);
        Assert.Contains("Inference:DefaultInstances must be from 1 to 64", stderr, StringComparison.Ordinal);
        Assert.Contains("Inference:MaxRequestBodyBytes must be from 1024", stderr, StringComparison.Ordinal);
    }
}
