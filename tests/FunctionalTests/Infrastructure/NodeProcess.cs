using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace ServingGateway.FunctionalTests.Infrastructure;

/// <summary>
/// A ServingGateway process (the built executable) on a loopback port, for tests across processes: it can
/// be killed, as a crash would, and started again on the same port.
/// </summary>
internal sealed class NodeProcess : IAsyncDisposable
{
    private readonly string[] _args;
    private readonly System.Text.StringBuilder _output = new();
    private Process? _process;

    private NodeProcess(int port, string[] args, string host = "127.0.0.1")
    {
        Port = port;
        Host = host;
        _args = args;
        Client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
    }

    /// <summary>The port it listens on.</summary>
    public int Port { get; }

    /// <summary>The loopback address it listens on: 127.0.0.1 unless started with another.</summary>
    public string Host { get; }

    /// <summary>http://HOST:PORT/.</summary>
    public Uri BaseAddress => new($"http://{Host}:{Port}/");

    /// <summary>The URL an edge is given: no trailing slash.</summary>
    public string Url => $"http://{Host}:{Port}";

    /// <summary>Its audit log (unless the arguments name one): a temporary file, deleted with it.</summary>
    public string AuditPath { get; } = GatewayServer.TempAuditPath();

    /// <summary>A client for it.</summary>
    public HttpClient Client { get; }

    /// <summary>Everything the process wrote to stdout and stderr so far, over all its starts.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Starts a node (--role node, --Node:Id <paramref name="id"/>) serving <paramref name="models"/>.</summary>
    public static Task<NodeProcess> StartNodeAsync(string models, string id, params string[] extra) =>
        StartAsync(["--role", "node", "--models", models, "--Node:Id", id, .. extra]);

    /// <summary>
    /// Starts a node as <see cref="StartNodeAsync"/> does, on loopback address <paramref name="host"/> (127.0.0.2, ...),
    /// with its gRPC listener there on <paramref name="grpcPort"/>: nodes on addresses of their own share one gRPC
    /// port, as an edge's Edge:NodeGrpcPort has them.
    /// </summary>
    public static async Task<NodeProcess> StartGrpcNodeAsync(string models, string id, string host, int grpcPort, params string[] extra)
    {
        var process = new NodeProcess(FreePort(host), ["--role", "node", "--models", models, "--Node:Id", id, "--grpc-urls", $"http://{host}:{grpcPort}", .. extra], host);
        await process.RestartAsync();
        return process;
    }

    /// <summary>Starts the executable with <paramref name="args"/> plus --urls on a free port; waits for ready.</summary>
    public static async Task<NodeProcess> StartAsync(string[] args)
    {
        var process = new NodeProcess(FreePort(), args);
        await process.RestartAsync();
        return process;
    }

    public static int FreePort(string host = "127.0.0.1")
    {
        using var listener = new TcpListener(IPAddress.Parse(host), 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Starts it (again, on the same port) and waits until /v2/health/ready answers 200.</summary>
    public async Task RestartAsync()
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "ServingGateway.dll"));
        foreach (var arg in (string[])["--Logging:LogLevel:Default", "Warning", .. _args, "--urls", Url, .. _args.Contains("--Audit:Path") ? [] : (string[])["--Audit:Path", AuditPath]])
        {
            info.ArgumentList.Add(arg);
        }

        _process = new Process { StartInfo = info };
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (true)
        {
            if (_process.HasExited)
            {
                await _process.WaitForExitAsync(); // the output is all read
                throw new InvalidOperationException($"ServingGateway {string.Join(' ', _args)} exited with {_process.ExitCode}: {Output}");
            }

            try
            {
                using var ready = await Client.GetAsync("v2/health/ready");
                if (ready.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"ServingGateway {string.Join(' ', _args)} not ready within 90 s");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>Waits, bounded, until the output holds <paramref name="text"/>.</summary>
    public async Task WaitForOutputAsync(string text, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        while (!Output.Contains(text, StringComparison.Ordinal))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"'{text}' not in the output within {within.TotalSeconds} s:{Environment.NewLine}{Output}");
            }

            await Task.Delay(50);
        }
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }

    /// <summary>Sends SIGTERM, as Kubernetes, systemd or docker stop do.</summary>
    public void Terminate()
    {
        using var kill = Process.Start("kill", ["-TERM", _process!.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
        kill.WaitForExit();
    }

    /// <summary>Waits for the process to exit by itself and returns its exit code; throws after <paramref name="timeout"/>.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        await _process!.WaitForExitAsync(deadline.Token);
        return _process.ExitCode;
    }

    /// <summary>Kills the process at once, as a crash would.</summary>
    public void Kill()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }
    }

    public async ValueTask DisposeAsync()
    {
        Kill();
        _process?.Dispose();
        File.Delete(AuditPath);
        Client.Dispose();
        await Task.CompletedTask;
    }
}
