using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace ServingGateway.TestSupport;

/// <summary>
/// A real redis-server on a free loopback port, without persistence, for the tests that need Redis
/// (.ci/run installs redis-server). Stop and start it again on the same port to test outages.
/// </summary>
internal sealed class RedisServer : IDisposable
{
    private readonly string? _password;
    private Process? _process;

    /// <summary>Starts a server; with <paramref name="password"/>, clients must AUTH (requirepass).</summary>
    public RedisServer(string? password = null)
    {
        _password = password;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            Port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        Start();
    }

    /// <summary>The port it listens on, on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>What StackExchange.Redis and --redis take.</summary>
    public string Endpoint => $"127.0.0.1:{Port}";

    /// <summary>Starts the server (again) and waits until it accepts connections.</summary>
    public void Start()
    {
        var info = new ProcessStartInfo("redis-server")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in new[] { "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no" })
        {
            info.ArgumentList.Add(arg);
        }

        if (_password is not null)
        {
            info.ArgumentList.Add("--requirepass");
            info.ArgumentList.Add(_password);
        }

        try
        {
            _process = Process.Start(info)!;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException("redis-server is not installed (apt-get install -y redis-server; .ci/run does it)", ex);
        }

        _ = _process.StandardOutput.ReadToEndAsync();
        _ = _process.StandardError.ReadToEndAsync();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                client.Connect(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline && !_process.HasExited)
            {
                Thread.Yield();
            }
        }
    }

    /// <summary>Stops the server (SIGSTOP): connections stay open and every command hangs, as on a stalled host.</summary>
    public void Pause() => Signal("STOP");

    /// <summary>Lets a paused server go on (SIGCONT).</summary>
    public void Resume() => Signal("CONT");

    private void Signal(string signal)
    {
        using var kill = Process.Start("kill", ["-" + signal, _process!.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }

    /// <summary>Kills the server, as a crash would.</summary>
    public void Kill()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill();
            _process.WaitForExit();
        }

        _process?.Dispose();
        _process = null;
    }

    public void Dispose()
    {
        if (_process is { HasExited: false })
        {
            Resume(); // a paused server would not die of the kill until continued
        }

        Kill();
    }
}
