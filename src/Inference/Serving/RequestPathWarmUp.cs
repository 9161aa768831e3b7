using System.Buffers;
using System.Runtime;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ServingGateway.Inference.Buffers;
using ServingGateway.Inference.Caching;
using ServingGateway.Inference.Protocol;
using ServingGateway.Inference.Repository;
using ServingGateway.Inference.Residency;
using ServingGateway.Inference.Tensors;

namespace ServingGateway.Inference.Serving;

/// <summary>
/// Warms the request path up before readiness turns 200, so that the first minute after a start looks like
/// the tenth: once the models have loaded (each instance has already run every batch size class, see
/// <see cref="ModelHostFactory"/>), it decodes requests of every loaded version from JSON and from the binary
/// extension, hashes their cache keys and encodes responses both ways, in rounds, until the JIT has
/// settled (a round compiles fewer than <see cref="SettledMethods"/> methods) or <see cref="MaxRounds"/>.
/// Nothing reaches a model, the cache, statistics or metrics. A failure is logged and readiness follows.
/// </summary>
internal sealed partial class RequestPathWarmUp : BackgroundService
{
    /// <summary>Passes per version per round: past the JIT's tier-up call count (30); fewer for large inputs (<see cref="BytesPerRound"/>).</summary>
    public const int CallsPerRound = 40;

    /// <summary>Input bytes per version per round: a model with large inputs (an image) gets fewer passes, at least one.</summary>
    public const int BytesPerRound = 256 * 1024;

    /// <summary>No round starts after this long: readiness never waits much for the warm-up.</summary>
    public static readonly TimeSpan MaxDuration = TimeSpan.FromSeconds(2);

    /// <summary>The most rounds.</summary>
    public const int MaxRounds = 10;

    /// <summary>A round that compiles fewer methods than this ends the warm-up.</summary>
    public const int SettledMethods = 8;

    // The JIT compiles hot methods again in the background 100 ms after their last tier-0 call: wait past it.
    private static readonly TimeSpan Pause = TimeSpan.FromMilliseconds(150);
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(50);

    private readonly ModelRepository _repository;
    private readonly TimeProvider _time;
    private readonly ILogger<RequestPathWarmUp> _logger;
    private volatile bool _complete;

    public RequestPathWarmUp(ModelRepository repository, TimeProvider time, ILogger<RequestPathWarmUp> logger)
    {
        _repository = repository;
        _time = time;
        _logger = logger;
    }

    /// <summary>Whether the warm-up has finished (or failed, or was stopped): readiness waits for it.</summary>
    public bool IsComplete => _complete;

    /// <summary>One pass over the request path of <paramref name="version"/>, JSON and binary.</summary>
    internal static void RunOnce(ModelHost version)
    {
        foreach (var binary in (ReadOnlySpan<bool>)[false, true])
        {
            using var body = new PooledBufferWriter();
            var headerLength = WriteRequest(body, version.Signature, binary);
            _ = CacheKey.ComputeExact(version.CacheKeyPrefix, headerLength, body.WrittenSpan);
            using var request = InferRequestReader.Read(body.WrittenSpan, headerLength, version.Signature);
            _ = CacheKey.Compute(version.CacheKeyPrefix, request, version.Signature);
            var outputs = new PooledTensor[request.Outputs.Length];
            try
            {
                for (var i = 0; i < outputs.Length; i++)
                {
                    outputs[i] = version.Signature.Outputs[request.Outputs[i].Index].RentZeros(1);
                }

                using var response = new PooledBufferWriter();
                InferResponseWriter.Write(response, version.ModelName, version.VersionText, "warm-up", outputs, request.Outputs);
            }
            finally
            {
                foreach (var output in outputs)
                {
                    output?.Dispose();
                }
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!_repository.IsReady)
            {
                await Task.Delay(Poll, _time, stoppingToken).ConfigureAwait(false);
            }

            var started = _time.GetTimestamp();
            var compiled = JitInfo.GetCompiledMethodCount();
            var rounds = 0;
            var fresh = 0L;
            while (rounds < MaxRounds && _time.GetElapsedTime(started) < MaxDuration)
            {
                rounds++;
                RunRound();
                await Task.Delay(Pause, _time, stoppingToken).ConfigureAwait(false);
                var now = JitInfo.GetCompiledMethodCount();
                fresh = now - compiled;
                compiled = now;
                if (rounds >= 2 && fresh < SettledMethods)
                {
                    break;
                }
            }

            Log.WarmedUp(_logger, rounds, fresh, _time.GetElapsedTime(started).TotalMilliseconds);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping before it finished: nothing to warm for.
        }
        catch (Exception ex) when (ex is InferenceException or InvalidOperationException or ArgumentException or JsonException or OverflowException)
        {
            Log.WarmUpFailed(_logger, ex.Message);
        }
        finally
        {
            _complete = true;
        }
    }

    private void RunRound()
    {
        foreach (var row in _repository.GetIndex().Where(r => r.State == "READY").DistinctBy(r => r.Name))
        {
            foreach (var version in _repository.GetReady(row.Name) ?? [])
            {
                if (!version.TryAcquire())
                {
                    continue;
                }

                try
                {
                    var calls = (int)Math.Clamp(BytesPerRound / Math.Max(1, InputBytes(version.Signature)), 1, CallsPerRound);
                    for (var i = 0; i < calls; i++)
                    {
                        RunOnce(version);
                    }
                }
                finally
                {
                    version.Release();
                }
            }
        }
    }

    private static long InputBytes(ModelSignature signature)
    {
        var total = 0L;
        foreach (var spec in signature.Inputs)
        {
            using var zeros = spec.RentZeros(1);
            total += zeros.Length;
        }

        return total;
    }

    // A one-row request of zeros (other dynamic dimensions 1) asking for every output; binary: inputs and
    // outputs as binary data. Returns the JSON header's length for a binary request, else null.
    private static int? WriteRequest(PooledBufferWriter body, ModelSignature signature, bool binary)
    {
        var inputs = signature.Inputs.Select(spec => spec.RentZeros(1)).ToArray();
        try
        {
            using (var json = new Utf8JsonWriter(body))
            {
                json.WriteStartObject();
                json.WriteString("id"u8, "warm-up"u8);
                json.WriteStartArray("inputs"u8);
                foreach (var input in inputs)
                {
                    json.WriteStartObject();
                    TensorJson.WriteHeader(json, input.Name, input.DataType, input.Shape);
                    if (binary)
                    {
                        json.WriteStartObject("parameters"u8);
                        json.WriteNumber("binary_data_size"u8, input.Length);
                        json.WriteEndObject();
                    }
                    else
                    {
                        json.WriteStartArray("data"u8);
                        for (var i = 0; i < input.ElementCount; i++)
                        {
                            WriteZero(json, input.DataType);
                        }

                        json.WriteEndArray();
                    }

                    json.WriteEndObject();
                }

                json.WriteEndArray();
                json.WriteStartArray("outputs"u8);
                foreach (var output in signature.Outputs)
                {
                    json.WriteStartObject();
                    json.WriteString("name"u8, output.Name);
                    json.WriteStartObject("parameters"u8);
                    json.WriteBoolean("binary_data"u8, binary);
                    json.WriteEndObject();
                    json.WriteEndObject();
                }

                json.WriteEndArray();
                json.WriteEndObject();
            }

            if (!binary)
            {
                return null;
            }

            var headerLength = body.WrittenCount;
            foreach (var input in inputs)
            {
                body.Write(input.Span);
            }

            return headerLength;
        }
        finally
        {
            foreach (var input in inputs)
            {
                input.Dispose();
            }
        }
    }

    private static void WriteZero(Utf8JsonWriter json, TensorDataType type)
    {
        switch (type)
        {
            case TensorDataType.Bool:
                json.WriteBooleanValue(false);
                break;
            case TensorDataType.Bytes:
                json.WriteStringValue(""u8);
                break;
            default:
                json.WriteNumberValue(0);
                break;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(50, LogLevel.Information, "Request path warmed up in {Rounds} rounds ({Methods} methods compiled in the last), {Milliseconds:0} ms")]
        public static partial void WarmedUp(ILogger logger, int rounds, long methods, double milliseconds);

        [LoggerMessage(51, LogLevel.Warning, "Warm-up of the request path failed; the node turns ready without it: {Reason}")]
        public static partial void WarmUpFailed(ILogger logger, string reason);
    }
}
