using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ServingGateway.FunctionalTests.Infrastructure;

/// <summary>
/// An OTLP/HTTP collector stand-in on 127.0.0.1: accepts <c>POST /v1/traces</c> (http/protobuf) and keeps every span
/// it receives, decoded with a minimal protobuf reader (the fields of opentelemetry-proto's trace.proto the tests
/// read: resource service.name, scope name, ids, parent, name, links).
/// </summary>
internal sealed class OtlpCollector : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<Span> _spans = new();

    private OtlpCollector(WebApplication app) => _app = app;

    /// <summary>The base URL to give as Telemetry:OtlpEndpoint.</summary>
    public string Url { get; private set; } = "";

    public IReadOnlyList<Span> Spans => [.. _spans];

    public static async Task<OtlpCollector> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var collector = new OtlpCollector(app);
        app.MapPost("/v1/traces", async context =>
        {
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer);
            foreach (var span in Decode(buffer.ToArray()))
            {
                collector._spans.Enqueue(span);
            }

            context.Response.ContentType = "application/x-protobuf";
            context.Response.StatusCode = StatusCodes.Status200OK; // an empty ExportTraceServiceResponse
        });
        await app.StartAsync();
        collector.Url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return collector;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    // ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
    private static IEnumerable<Span> Decode(byte[] request)
    {
        var spans = new List<Span>();
        foreach (var (field, _, resourceSpans) in Fields(request))
        {
            if (field != 1)
            {
                continue;
            }

            // ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
            var service = "";
            foreach (var (rsField, _, rsValue) in Fields(resourceSpans))
            {
                if (rsField == 1)
                {
                    service = Attributes(rsValue, 1).GetValueOrDefault("service.name", "");
                }
            }

            foreach (var (rsField, _, scopeSpans) in Fields(resourceSpans))
            {
                if (rsField != 2)
                {
                    continue;
                }

                // ScopeSpans { InstrumentationScope scope = 1 { string name = 1; }; repeated Span spans = 2; }
                var scope = "";
                foreach (var (ssField, _, ssValue) in Fields(scopeSpans))
                {
                    if (ssField == 1)
                    {
                        scope = Text(Fields(ssValue).FirstOrDefault(f => f.Field == 1).Value);
                    }
                }

                foreach (var (ssField, _, span) in Fields(scopeSpans))
                {
                    if (ssField == 2)
                    {
                        spans.Add(ReadSpan(service, scope, span));
                    }
                }
            }
        }

        return spans;
    }

    // Span { bytes trace_id = 1; bytes span_id = 2; bytes parent_span_id = 4; string name = 5; repeated KeyValue
    // attributes = 9; repeated Link links = 13; }
    // Link { bytes trace_id = 1; bytes span_id = 2; }
    private static Span ReadSpan(string service, string scope, ReadOnlyMemory<byte> span)
    {
        string traceId = "", spanId = "", parent = "", name = "";
        var links = new List<(string TraceId, string SpanId)>();
        foreach (var (field, _, value) in Fields(span))
        {
            switch (field)
            {
                case 1: traceId = Hex(value); break;
                case 2: spanId = Hex(value); break;
                case 4: parent = Hex(value); break;
                case 5: name = Text(value); break;
                case 13:
                    var link = Fields(value).ToList();
                    links.Add((Hex(link.FirstOrDefault(f => f.Field == 1).Value), Hex(link.FirstOrDefault(f => f.Field == 2).Value)));
                    break;
            }
        }

        return new Span(service, scope, traceId, spanId, parent, name, links) { Attributes = Attributes(span, 9) };
    }

    // KeyValue { string key = 1; AnyValue value = 2 { string string_value = 1; } }: the string attributes.
    private static Dictionary<string, string> Attributes(ReadOnlyMemory<byte> message, int field)
    {
        var attributes = new Dictionary<string, string>();
        foreach (var (number, _, keyValue) in Fields(message))
        {
            if (number != field)
            {
                continue;
            }

            var parts = Fields(keyValue).ToList();
            var value = parts.FirstOrDefault(f => f.Field == 2).Value;
            var text = Fields(value).FirstOrDefault(f => f.Field == 1);
            attributes[Text(parts.FirstOrDefault(f => f.Field == 1).Value)] = text.WireType == 2 ? Text(text.Value) : "";
        }

        return attributes;
    }

    // The fields of one protobuf message: number, wire type and, for length-delimited ones, the bytes (others: empty).
    private static IEnumerable<(int Field, int WireType, ReadOnlyMemory<byte> Value)> Fields(ReadOnlyMemory<byte> message)
    {
        var position = 0;
        while (position < message.Length)
        {
            var tag = Varint(message.Span, ref position);
            var (field, wireType) = ((int)(tag >> 3), (int)(tag & 7));
            switch (wireType)
            {
                case 0:
                    Varint(message.Span, ref position);
                    yield return (field, wireType, ReadOnlyMemory<byte>.Empty);
                    break;
                case 1:
                    position += 8;
                    yield return (field, wireType, ReadOnlyMemory<byte>.Empty);
                    break;
                case 2:
                    var length = (int)Varint(message.Span, ref position);
                    yield return (field, wireType, message.Slice(position, length));
                    position += length;
                    break;
                case 5:
                    position += 4;
                    yield return (field, wireType, ReadOnlyMemory<byte>.Empty);
                    break;
                default:
                    throw new InvalidDataException($"protobuf wire type {wireType} at byte {position}");
            }
        }
    }

    private static ulong Varint(ReadOnlySpan<byte> bytes, ref int position)
    {
        ulong value = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = bytes[position++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }
    }

    private static string Hex(ReadOnlyMemory<byte> bytes) => Convert.ToHexStringLower(bytes.Span);

    private static string Text(ReadOnlyMemory<byte> bytes) => System.Text.Encoding.UTF8.GetString(bytes.Span);

    /// <summary>One span as the collector received it; ids in lower-case hex, Parent empty for a root.</summary>
    internal sealed record Span(string Service, string Scope, string TraceId, string SpanId, string Parent, string Name, IReadOnlyList<(string TraceId, string SpanId)> Links)
    {
        /// <summary>The span's attributes with string values (others map to "").</summary>
        public IReadOnlyDictionary<string, string> Attributes { get; init; } = new Dictionary<string, string>();
    }
}
