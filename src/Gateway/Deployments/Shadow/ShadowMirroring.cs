using System.Buffers;
using System.Globalization;
using System.Threading.Channels;
using Microsoft.Extensions.Options;

namespace ServingGateway.Deployments.Shadow;

/// <summary>
/// Shadow mirroring (issue 13): a sample of a model's infer requests, once the caller has its answer, is run again on
/// the traffic split's shadow version; the shadow's answer is compared with the caller's (<see cref="OutputDivergence"/>),
/// never returned, and reported to <see cref="IShadowResults"/> and the metrics. The caller pays for a draw, and when
/// sampled, one copy of its request and answer: the shadow runs later, in a background loop, off its request path.
/// </summary>
/// <remarks>
/// Bounded both ways: at most <see cref="ShadowOptions.QueueCapacity"/> mirrored requests holding at most
/// <see cref="ShadowOptions.MaxQueuedBytes"/> wait (an offer past either is dropped and counted, never waited for), and
/// <see cref="ShadowOptions.Concurrency"/> run at once, each for at most <see cref="ShadowOptions.TimeoutMs"/>.
/// The deployments middleware calls <see cref="ShouldMirror"/> when a request starts (to know whether to keep a copy of
/// its body and answer) and <see cref="TryOffer"/> when its answer is complete.
/// </remarks>
internal sealed partial class ShadowMirroring : BackgroundService
{
    private readonly Channel<Mirrored> _queue;
    private readonly IShadowRunner _runner;
    private readonly IShadowResults[] _results;
    private readonly ShadowMetrics _metrics;
    private readonly ShadowOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<ShadowMirroring> _logger;
    private long _queuedBytes;

    public ShadowMirroring(IShadowRunner runner, IEnumerable<IShadowResults> results, ShadowMetrics metrics, IOptions<ShadowOptions> options,
        TimeProvider time, ILogger<ShadowMirroring> logger)
    {
        _runner = runner;
        _results = [.. results];
        _metrics = metrics;
        _options = options.Value;
        _time = time;
        _logger = logger;
        _queue = Channel.CreateBounded<Mirrored>(new BoundedChannelOptions(_options.QueueCapacity)
        {
            FullMode = BoundedChannelFullMode.Wait, // with TryWrite: refused at once when full, never waited for
            SingleReader = _options.Concurrency == 1,
        });
    }

    /// <summary>Mirrored requests waiting for a shadow run.</summary>
    public int Queued => _queue.Reader.Count;

    /// <summary>
    /// Whether to mirror a request to <paramref name="model"/> whose split has <paramref name="shadow"/>: a draw with
    /// the shadow's sample ratio. A sampled request that would find the queue full is dropped (and counted) here,
    /// before its caller copies anything.
    /// </summary>
    public bool ShouldMirror(string model, ShadowMirror shadow)
    {
        if (shadow.SampleRatio <= 0 || (shadow.SampleRatio < 1 && Random.Shared.NextDouble() >= shadow.SampleRatio))
        {
            return false;
        }

        if (_queue.Reader.Count >= _options.QueueCapacity)
        {
            _metrics.Count(model, shadow.Version, ShadowMetrics.Dropped);
            return false;
        }

        return true;
    }

    /// <summary>
    /// Queues a caller's request to <paramref name="model"/> and the answer it got for a run on
    /// <paramref name="shadowVersion"/>, copying both; returns at once. Only a 200 answer is compared (a caller's
    /// failed request has nothing to compare with): others are not queued.
    /// </summary>
    /// <param name="model">The model the caller's request named.</param>
    /// <param name="shadowVersion">The split's shadow version.</param>
    /// <param name="requestBody">The caller's request body, as it was sent.</param>
    /// <param name="requestContentType">The request's Content-Type.</param>
    /// <param name="requestHeaderLength">The request's Inference-Header-Content-Length, verbatim (null when absent).</param>
    /// <param name="responseBody">The caller's answer body, whole.</param>
    /// <param name="responseHeaderLength">The answer's Inference-Header-Content-Length (null when absent: JSON only).</param>
    /// <param name="responseStatus">The answer's status.</param>
    /// <returns>Whether it was queued; false when not a 200 answer, or dropped as the queue is full (counted).</returns>
    public bool TryOffer(string model, long shadowVersion, ReadOnlySpan<byte> requestBody, string? requestContentType, string? requestHeaderLength,
        ReadOnlySpan<byte> responseBody, string? responseHeaderLength, int responseStatus)
    {
        if (responseStatus != StatusCodes.Status200OK)
        {
            return false;
        }

        int? answerHeaderLength = null;
        if (responseHeaderLength is not null)
        {
            if (!int.TryParse(responseHeaderLength, NumberStyles.None, CultureInfo.InvariantCulture, out var length))
            {
                _metrics.Count(model, shadowVersion, ShadowMetrics.Skipped);
                return false;
            }

            answerHeaderLength = length;
        }

        var size = (long)requestBody.Length + responseBody.Length;
        if (Interlocked.Add(ref _queuedBytes, size) > _options.MaxQueuedBytes)
        {
            Interlocked.Add(ref _queuedBytes, -size);
            _metrics.Count(model, shadowVersion, ShadowMetrics.Dropped);
            return false;
        }

        var buffer = ArrayPool<byte>.Shared.Rent((int)size);
        requestBody.CopyTo(buffer);
        responseBody.CopyTo(buffer.AsSpan(requestBody.Length));
        var request = new ShadowRequest(model, shadowVersion, buffer.AsMemory(0, requestBody.Length), requestContentType, requestHeaderLength);
        var mirrored = new Mirrored(request, buffer, requestBody.Length, responseBody.Length, answerHeaderLength);
        if (!_queue.Writer.TryWrite(mirrored))
        {
            Release(mirrored);
            _metrics.Count(model, shadowVersion, ShadowMetrics.Dropped);
            return false;
        }

        _metrics.SetQueued(_queue.Reader.Count);
        return true;
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(Enumerable.Range(0, _options.Concurrency).Select(_ => Task.Run(() => ConsumeAsync(stoppingToken), CancellationToken.None)));

    private async Task ConsumeAsync(CancellationToken stoppingToken)
    {
        var reader = _queue.Reader;
        try
        {
            while (await reader.WaitToReadAsync(stoppingToken).ConfigureAwait(false))
            {
                while (reader.TryRead(out var mirrored))
                {
                    _metrics.SetQueued(reader.Count);
                    try
                    {
                        await RunAsync(mirrored, stoppingToken).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                    {
                        // Never let one comparison (or a results sink) end the loop.
                        Log.ShadowLoopFailed(_logger, mirrored.Request.Model, mirrored.Request.Version, ex);
                    }
                    finally
                    {
                        Release(mirrored);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: what still waits is not run.
        }
    }

    // Runs one mirrored request on its shadow version and records the comparison or the error.
    private async Task RunAsync(Mirrored mirrored, CancellationToken stoppingToken)
    {
        var request = mirrored.Request;
        IReadOnlyDictionary<string, InferAnswerOutput> served;
        try
        {
            served = InferAnswerReader.Read(mirrored.Answer, mirrored.AnswerHeaderLength);
        }
        catch (InferAnswerFormatException ex)
        {
            _metrics.Count(request.Model, request.Version, ShadowMetrics.Skipped);
            Log.ServedAnswerUnreadable(_logger, request.Model, request.Version, ex.Message);
            return;
        }

        ShadowAnswer answer;
        var started = _time.GetTimestamp();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(_options.TimeoutMs), _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, stoppingToken);
        try
        {
            answer = await _runner.RunAsync(request, linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            return; // shutting down: neither the version's error nor a comparison
        }
        catch (Exception ex)
        {
            RecordError(request, started, timeout.IsCancellationRequested ? $"no answer within {_options.TimeoutMs} ms" : ex.Message);
            return;
        }

        if (timeout.IsCancellationRequested)
        {
            RecordError(request, started, $"no answer within {_options.TimeoutMs} ms");
            return;
        }

        if (answer.Status != StatusCodes.Status200OK)
        {
            RecordError(request, started, $"status {answer.Status}: {System.Text.Encoding.UTF8.GetString(answer.Body.AsSpan(0, Math.Min(answer.Body.Length, 200)))}");
            return;
        }

        var milliseconds = _time.GetElapsedTime(started).TotalMilliseconds;
        ShadowComparison comparison;
        try
        {
            comparison = OutputDivergence.Compare(served, InferAnswerReader.Read(answer.Body, answer.HeaderLength));
        }
        catch (InferAnswerFormatException ex)
        {
            Log.ShadowAnswerUnreadable(_logger, request.Model, request.Version, ex.Message);
            comparison = ShadowComparison.Mismatched(OutputDivergence.Unreadable);
        }

        if (comparison.Mismatch is { } reason)
        {
            Log.Mismatch(_logger, request.Model, request.Version, reason);
        }

        _metrics.Compare(request.Model, request.Version, comparison);
        foreach (var results in _results)
        {
            results.RecordShadow(request.Model, request.Version, milliseconds, comparison.Divergence);
        }
    }

    private void RecordError(ShadowRequest request, long started, string reason)
    {
        var milliseconds = _time.GetElapsedTime(started).TotalMilliseconds;
        Log.ShadowFailed(_logger, request.Model, request.Version, reason);
        _metrics.Count(request.Model, request.Version, ShadowMetrics.Error);
        foreach (var results in _results)
        {
            results.RecordShadowError(request.Model, request.Version, milliseconds);
        }
    }

    private void Release(Mirrored mirrored)
    {
        Interlocked.Add(ref _queuedBytes, -(mirrored.RequestLength + (long)mirrored.AnswerLength));
        ArrayPool<byte>.Shared.Return(mirrored.Buffer);
    }

    // One mirrored request: its request and the caller's answer, side by side in one rented buffer.
    private sealed record Mirrored(ShadowRequest Request, byte[] Buffer, int RequestLength, int AnswerLength, int? AnswerHeaderLength)
    {
        public ReadOnlySpan<byte> Answer => Buffer.AsSpan(RequestLength, AnswerLength);
    }

    private static partial class Log
    {
        [LoggerMessage(190, LogLevel.Debug, "Shadow of {Model} version {Version} failed: {Reason}")]
        public static partial void ShadowFailed(ILogger logger, string model, long version, string reason);

        [LoggerMessage(191, LogLevel.Debug, "Shadow of {Model} version {Version} not run: the caller's answer is unreadable ({Reason})")]
        public static partial void ServedAnswerUnreadable(ILogger logger, string model, long version, string reason);

        [LoggerMessage(192, LogLevel.Debug, "Shadow of {Model} version {Version} answered unreadably: {Reason}")]
        public static partial void ShadowAnswerUnreadable(ILogger logger, string model, long version, string reason);

        [LoggerMessage(193, LogLevel.Debug, "Shadow of {Model} version {Version} not comparable with the caller's answer ({Reason})")]
        public static partial void Mismatch(ILogger logger, string model, long version, string reason);

        [LoggerMessage(194, LogLevel.Error, "Shadow of {Model} version {Version}: the comparison failed")]
        public static partial void ShadowLoopFailed(ILogger logger, string model, long version, Exception exception);
    }
}
