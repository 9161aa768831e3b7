using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace ServingGateway.FunctionalTests.Infrastructure;

/// <summary>
/// HTTP/1.1 over a bare socket, for request targets HttpClient would rewrite (System.Uri removes dot
/// segments): the target is sent byte for byte as given.
/// </summary>
internal static class RawHttp
{
    /// <summary>A response: status, headers (names case-insensitive) and the body as text.</summary>
    public sealed record Reply(int Status, Dictionary<string, string> Headers, string Body)
    {
        public bool Has(string header) => Headers.ContainsKey(header);

        public override string ToString() => $"{Status} {Body}";
    }

    /// <summary>Sends <paramref name="method"/> <paramref name="target"/> with an optional API key (X-Api-Key) and JSON body; reads to the end.</summary>
    public static async Task<Reply> SendAsync(Uri server, string method, string target, string? key, string? body)
    {
        using var tcp = new TcpClient();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await tcp.ConnectAsync(server.Host, server.Port, timeout.Token);
        await using var stream = tcp.GetStream();
        var content = Encoding.UTF8.GetBytes(body ?? "");
        var request = new StringBuilder()
            .Append(CultureInfo.InvariantCulture, $"{method} {target} HTTP/1.1\r\nHost: {server.Authority}\r\nConnection: close\r\n")
            .Append(key is null ? "" : $"X-Api-Key: {key}\r\n")
            .Append(method is "POST" or "PUT" ? string.Create(CultureInfo.InvariantCulture, $"Content-Type: application/json\r\nContent-Length: {content.Length}\r\n") : "")
            .Append("\r\n");
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request.ToString()), timeout.Token);
        if (method is "POST" or "PUT")
        {
            await stream.WriteAsync(content, timeout.Token);
        }

        using var received = new MemoryStream();
        await stream.CopyToAsync(received, timeout.Token);
        var text = Encoding.UTF8.GetString(received.ToArray());
        var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        var head = (end < 0 ? text : text[..end]).Split("\r\n");
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in head.Skip(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0)
            {
                headers[line[..colon].Trim()] = line[(colon + 1)..].Trim();
            }
        }

        var status = head[0].Split(' ') is [_, var code, ..] && int.TryParse(code, CultureInfo.InvariantCulture, out var parsed) ? parsed : 0;
        return new Reply(status, headers, end < 0 ? "" : text[(end + 4)..]);
    }
}
