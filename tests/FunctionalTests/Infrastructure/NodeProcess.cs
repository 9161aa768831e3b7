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
    private Process? _process;

    private NodeProcess(int port, string[] args)
    {
        Port = port;
        _args = args;
        Client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
    }

    /// <summary>The port it listens on.</summary>
    public int Port { get; }

    /// <summary>http://127.0.0.1:PORT/.</summary>
    public Uri BaseAddress => new($"http://127.0.0.1:{Port}/");

    /// <summary>The URL an edge is given: no trailing slash.</summary>
    public string Url => $"http://127.0.0.1:{Port}";

    /// <summary>Its audit log (unless the arguments name one): a temporary file, deleted with it.</summary>
    public string AuditPath { get; } = GatewayServer.TempAuditPath();

    /// <summary>A client for it.</summary>
    public HttpClient Client { get; }

    /// <summary>Starts a node (--role node, --Node:Id <paramref name="id"/>) serving <paramref name="models"/>.</summary>
    public static Task<NodeProcess> StartNodeAsync(string models, string id, params string[] extra) =>
        StartAsync(["--role", "node", "--models", models, "--Node:Id", id, .. extra]);

    /// <summary>Starts the executable with <paramref name="args"/> plus --urls on a free port; waits for ready.</summary>
    public static async Task<NodeProcess> StartAsync(string[] args)
    {
        var process = new NodeProcess(FreePort(), args);
        await process.RestartAsync();
        return process;
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Starts it (again, on the same port) and waits until /v2/health/ready answers 200.</summary>
    public async Task RestartAsync()
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "ServingGateway.dll"));
        foreach (var arg in (string[])[.. _args, "--urls", Url, "--Logging:LogLevel:Default", "Warning", .. _args.Contains("--Audit:Path") ? [] : (string[])["--Audit:Path", AuditPath]])
        {
            info.ArgumentList.Add(arg);
        }

        _process = Process.Start(info)!;
        var stderr = _process.StandardError.ReadToEndAsync();
        _ = _process.StandardOutput.ReadToEndAsync();
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"ServingGateway {string.Join(' ', _args)} exited with {_process.ExitCode}: {await stderr}");
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
