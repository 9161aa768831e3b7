using System.Net;
using System.Net.Sockets;

namespace ServingGateway.TestSupport;

/// <summary>
/// A TCP proxy on a free loopback port in front of a server (Redis), for a server that is slow rather than
/// dead: while <see cref="Hold"/> is in force, the server's replies are read but not passed on until
/// <see cref="Release"/>; requests always go through at once.
/// </summary>
internal sealed class HoldingTcpProxy : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _target;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<TcpClient> _connections = [];
    private TaskCompletionSource _open = Opened();

    public HoldingTcpProxy(int targetPort)
    {
        _target = targetPort;
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _ = AcceptAsync();
    }

    /// <summary>The port it listens on, on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>What StackExchange.Redis and --redis take.</summary>
    public string Endpoint => $"127.0.0.1:{Port}";

    /// <summary>Replies chunks read from the server from now on wait until <see cref="Release"/>.</summary>
    public void Hold()
    {
        var current = Volatile.Read(ref _open);
        if (current.Task.IsCompleted)
        {
            Interlocked.CompareExchange(ref _open, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), current);
        }
    }

    /// <summary>Passes on the replies held, and all replies from now on.</summary>
    public void Release() => Volatile.Read(ref _open).TrySetResult();

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        Release();
        lock (_connections)
        {
            foreach (var connection in _connections)
            {
                connection.Dispose();
            }
        }

        _stop.Dispose();
    }

    private static TaskCompletionSource Opened()
    {
        var open = new TaskCompletionSource();
        open.SetResult();
        return open;
    }

    private async Task AcceptAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                var server = new TcpClient();
                await server.ConnectAsync(IPAddress.Loopback, _target, _stop.Token);
                lock (_connections)
                {
                    _connections.Add(client);
                    _connections.Add(server);
                }

                _ = PumpAsync(client.GetStream(), server.GetStream(), hold: false);
                _ = PumpAsync(server.GetStream(), client.GetStream(), hold: true);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // Stopped.
        }
    }

    private async Task PumpAsync(NetworkStream from, NetworkStream to, bool hold)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            int read;
            while ((read = await from.ReadAsync(buffer, _stop.Token)) > 0)
            {
                if (hold)
                {
                    await Volatile.Read(ref _open).Task.WaitAsync(_stop.Token);
                }

                await to.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
        {
            // A side closed, or the proxy stopped.
        }
        finally
        {
            try
            {
                to.Socket.Shutdown(SocketShutdown.Send);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
            }
        }
    }
}
