using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using ServingGateway.Inference.Metrics;
using ServingGateway.Inference.Protocol;
using ServingGateway.Inference.Tensors;

namespace ServingGateway.Inference.Drift;

/// <summary>
/// Input drift of one model version (config.json "drift"): the request path samples a share of requests
/// (<see cref="Observe"/>: a random draw, then a copy of at most <see cref="MaxRowsPerSample"/> rows' feature values into a
/// bounded channel, dropped and counted when it is full); one background loop feeds the samples to fixed-size
/// sketches. The first <see cref="DriftSettings.Window"/> sampled rows are the reference (unless the version folder
/// ships drift_reference.json), each later window of as many rows is compared with it: PSI per feature (and a binned KS
/// for continuous ones), the input's PSI the largest of its features', exported as <c>sg_input_drift_psi</c>.
/// </summary>
/// <remarks>Ownership: the version's <c>ModelHost</c> creates it and disposes it with its sessions.</remarks>
internal sealed partial class DriftMonitor : IDisposable
{
    /// <summary>The file beside model.onnx that gives the reference instead of a reference window.</summary>
    public const string ReferenceFileName = "drift_reference.json";

    /// <summary>Rows of one request that are sampled; a larger batch gives its first rows.</summary>
    public const int MaxRowsPerSample = 8;

    /// <summary>Samples waiting for the loop; more are dropped (and counted).</summary>
    public const int ChannelCapacity = 1024;

    /// <summary>Features listed in the JSON's "top".</summary>
    public const int TopFeatures = 5;

    private readonly Channel<DriftSample> _channel = Channel.CreateBounded<DriftSample>(
        new BoundedChannelOptions(ChannelCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    private readonly Lock _gate = new();
    private readonly DriftInput[] _inputs;
    private readonly double[] _inputPsi;
    private readonly bool _batched;
    private readonly string _model;
    private readonly string _version;
    private readonly NodeMetrics _metrics;
    private readonly ILogger _logger;
    private readonly Task _loop;
    private long _dropped;
    private long _sampledRows;
    private long _referenceRows;
    private long _liveRows;
    private long _windows;
    private bool _referenceComplete;

    /// <summary>Watches the inputs of <paramref name="signature"/>; reads <paramref name="referenceFile"/> when it exists.</summary>
    /// <exception cref="InvalidDataException">drift_reference.json is not valid for the model; the message lists every problem.</exception>
    public DriftMonitor(string model, string version, ModelSignature signature, DriftSettings settings, string? referenceFile, NodeMetrics metrics, ILogger logger)
    {
        _model = model;
        _version = version;
        Settings = settings;
        _metrics = metrics;
        _logger = logger;
        _batched = signature.MaxBatchSize > 0;
        _inputs = DriftInput.Of(signature);
        _inputPsi = [.. _inputs.Select(_ => double.NaN)];
        if (referenceFile is not null && File.Exists(referenceFile))
        {
            DriftReferenceFile.Read(File.ReadAllBytes(referenceFile), _inputs);
            _referenceComplete = true;
            ReferenceSource = "file";
        }

        metrics.SetDriftThreshold(model, version, settings.Threshold);
        foreach (var input in _inputs)
        {
            metrics.SetInputDrift(model, version, input.Name, double.NaN); // exported from load: NaN until a window completes
        }

        _loop = Task.Run(() => RunAsync(CancellationToken.None));
    }

    /// <summary>The settings the version was loaded with.</summary>
    public DriftSettings Settings { get; }

    /// <summary>Where the reference comes from: "window" (the first sampled rows) or "file" (drift_reference.json).</summary>
    public string ReferenceSource { get; } = "window";

    /// <summary>Samples dropped because the channel was full.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>The request path's hook: samples <paramref name="request"/> with the configured ratio, without waiting.</summary>
    public void Observe(InferRequest request)
    {
        if (Settings.SampleRatio < 1 && Random.Shared.NextDouble() >= Settings.SampleRatio)
        {
            return;
        }

        if (!_channel.Writer.TryWrite(Sample(request)))
        {
            Interlocked.Increment(ref _dropped);
        }
    }

    /// <summary>The values of <paramref name="request"/> the sketches take (its first rows, each watched input's features).</summary>
    public DriftSample Sample(InferRequest request)
    {
        var rows = _batched ? (int)Math.Min(request.BatchSize, MaxRowsPerSample) : 1;
        var values = new double[_inputs.Length][];
        for (var i = 0; i < _inputs.Length; i++)
        {
            values[i] = _inputs[i].Copy(request.Inputs[_inputs[i].Index], rows, _batched);
        }

        return new DriftSample(rows, values);
    }

    /// <summary>Feeds one sample to the sketches (the loop's work; tests call it directly).</summary>
    public void Process(DriftSample sample)
    {
        lock (_gate)
        {
            for (var row = 0; row < sample.Rows; row++)
            {
                _sampledRows++;
                for (var i = 0; i < _inputs.Length; i++)
                {
                    var input = _inputs[i];
                    var perRow = sample.Values[i].Length / sample.Rows;
                    var values = sample.Values[i].AsSpan(row * perRow, perRow);
                    for (var k = 0; k < values.Length; k++)
                    {
                        var feature = input.Features[input.PerElement ? k : 0];
                        if (_referenceComplete)
                        {
                            feature.AddLive(values[k]);
                        }
                        else
                        {
                            feature.AddReference(values[k]);
                        }
                    }
                }

                if (!_referenceComplete)
                {
                    if (++_referenceRows == Settings.Window)
                    {
                        CompleteReference();
                    }
                }
                else if (++_liveRows == Settings.Window)
                {
                    CompleteWindow();
                }
            }
        }
    }

    /// <summary>The PSI of each watched input in the last complete window (NaN before one), by input name.</summary>
    public IReadOnlyDictionary<string, double> InputPsi()
    {
        lock (_gate)
        {
            return _inputs.Select((input, i) => (input.Name, _inputPsi[i])).ToDictionary(p => p.Name, p => p.Item2, StringComparer.Ordinal);
        }
    }

    /// <summary>Writes this version's drift as the properties of a JSON object (docs/API.md).</summary>
    public void Write(Utf8JsonWriter writer)
    {
        lock (_gate)
        {
            writer.WriteNumber("sample_ratio", Settings.SampleRatio);
            writer.WriteNumber("window", Settings.Window);
            writer.WriteNumber("threshold", Settings.Threshold);
            writer.WriteStartObject("reference");
            writer.WriteString("source", ReferenceSource);
            writer.WriteNumber("rows", _referenceRows);
            writer.WriteBoolean("complete", _referenceComplete);
            writer.WriteEndObject();
            writer.WriteStartObject("live");
            writer.WriteNumber("rows", _liveRows);
            writer.WriteNumber("windows", _windows);
            writer.WriteNumber("last_window_rows", _windows > 0 ? Settings.Window : 0);
            writer.WriteEndObject();
            writer.WriteNumber("sampled_rows", _sampledRows);
            writer.WriteNumber("dropped_samples", Dropped);
            writer.WriteStartArray("inputs");
            for (var i = 0; i < _inputs.Length; i++)
            {
                var input = _inputs[i];
                writer.WriteStartObject();
                writer.WriteString("name", input.Name);
                writer.WriteString("kind", input.Features[0].Kind);
                writer.WriteString("features", input.PerElement ? "element" : "whole");
                WriteScore(writer, "psi", _inputPsi[i]);
                writer.WriteBoolean("drifting", _inputPsi[i] > Settings.Threshold);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            var features = _inputs.SelectMany(input => input.Features.Select((f, k) => (Input: input, Name: input.FeatureName(k), Sketch: f))).ToList();
            writer.WriteStartArray("features");
            foreach (var feature in features)
            {
                WriteFeature(writer, feature.Input.Name, feature.Name, feature.Sketch);
            }

            writer.WriteEndArray();
            writer.WriteStartArray("top");
            foreach (var feature in features.Where(f => !double.IsNaN(f.Sketch.Psi)).OrderByDescending(f => f.Sketch.Psi).Take(TopFeatures))
            {
                WriteFeature(writer, feature.Input.Name, feature.Name, feature.Sketch);
            }

            writer.WriteEndArray();
        }
    }

    /// <summary>Writes the complete reference in the format of drift_reference.json (null before it is complete).</summary>
    public void WriteReference(Utf8JsonWriter writer)
    {
        lock (_gate)
        {
            if (!_referenceComplete)
            {
                writer.WriteNullValue();
                return;
            }

            DriftReferenceFile.Write(writer, _inputs);
        }
    }

    /// <summary>Stops the loop and removes the version's gauges.</summary>
    public void Dispose()
    {
        _channel.Writer.TryComplete();
        _metrics.RemoveDrift(_model, _version, _inputs.Select(i => i.Name));
    }

    /// <summary>Completes when the loop has processed every sample written before <see cref="Dispose"/>.</summary>
    internal Task Completion => _loop;

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var reader = _channel.Reader;
        while (await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            while (reader.TryRead(out var sample))
            {
                Process(sample);
            }
        }
    }

    private void CompleteReference()
    {
        foreach (var input in _inputs)
        {
            foreach (var feature in input.Features)
            {
                feature.CompleteReference();
            }
        }

        _referenceComplete = true;
        Log.ReferenceComplete(_logger, _model, _version, _referenceRows);
    }

    private void CompleteWindow()
    {
        _liveRows = 0;
        _windows++;
        for (var i = 0; i < _inputs.Length; i++)
        {
            var psi = 0.0;
            foreach (var feature in _inputs[i].Features)
            {
                feature.CompleteWindow();
                psi = Math.Max(psi, feature.Psi);
            }

            _inputPsi[i] = psi;
            _metrics.SetInputDrift(_model, _version, _inputs[i].Name, psi);
            if (psi > Settings.Threshold)
            {
                Log.InputDrifting(_logger, _model, _version, _inputs[i].Name, psi, Settings.Threshold);
            }
        }
    }

    private void WriteFeature(Utf8JsonWriter writer, string input, string name, FeatureSketch sketch)
    {
        writer.WriteStartObject();
        writer.WriteString("input", input);
        writer.WriteString("feature", name);
        WriteScore(writer, "psi", sketch.Psi);
        if (sketch.Kind == ContinuousSketch.KindName)
        {
            WriteScore(writer, "ks", sketch.Ks);
        }

        writer.WriteBoolean("drifting", sketch.Psi > Settings.Threshold);
        writer.WriteEndObject();
    }

    // A statistic, or null before the first window completed (JSON has no NaN).
    private static void WriteScore(Utf8JsonWriter writer, string name, double value)
    {
        if (double.IsNaN(value))
        {
            writer.WriteNull(name);
        }
        else
        {
            writer.WriteNumber(name, Math.Round(value, 6));
        }
    }

    private static partial class Log
    {
        [LoggerMessage(113, LogLevel.Information, "Drift reference of {Model} version {Version} taken from its first {Rows} sampled rows")]
        public static partial void ReferenceComplete(ILogger logger, string model, string version, long rows);

        [LoggerMessage(114, LogLevel.Warning, "Input {Input} of {Model} version {Version} is drifting: PSI {Psi:0.000} over the last window, above the threshold {Threshold}")]
        public static partial void InputDrifting(ILogger logger, string model, string version, string input, double psi, double threshold);
    }
}
