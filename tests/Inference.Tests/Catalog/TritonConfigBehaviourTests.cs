using Microsoft.Extensions.Time.Testing;
using ServingGateway.Inference.Metrics;
using ServingGateway.Inference.Protocol;
using ServingGateway.Inference.Repository;
using ServingGateway.Inference.Residency;
using ServingGateway.Inference.Tests.Repository;
using ServingGateway.TestSupport;

namespace ServingGateway.Inference.Tests.Catalog;

/// <summary>
/// A Triton config.pbtxt changes what a loaded version does: the queue policy's default timeout and its
/// action, declared dims that narrow the model's, declarations that do not match the model (the version is
/// UNAVAILABLE with the reason), a malformed file (the model is UNAVAILABLE with the line, the others serve),
/// and fields the server does not use (logged once per model and field, reloads included).
/// </summary>
public sealed class TritonConfigBehaviourTests : IAsyncLifetime
{
    private const string Queued = """
        max_batch_size: 8
        instance_group { count: 1 kind: KIND_CPU }
        dynamic_batching {
          max_queue_delay_microseconds: 100000
          default_queue_policy { timeout_action: %ACTION% default_timeout_microseconds: 10000 allow_timeout_override: %OVERRIDE% }
        }
        """;

    private readonly FakeTimeProvider _time = new();
    private readonly TempModelRepository _models = new();
    private readonly ListLogger _log = new();
    private ModelRepository _repository = null!;

    public async Task InitializeAsync()
    {
        // Copies of 'dynamic' (y = 2x, FP32 [batch, seq]) and 'mlp' (FP32 [batch, 64] -> [batch, 10]).
        Add("reject_fixed", "dynamic", Queued.Replace("%ACTION%", "REJECT").Replace("%OVERRIDE%", "false"));
        Add("reject_override", "dynamic", Queued.Replace("%ACTION%", "REJECT").Replace("%OVERRIDE%", "true"));
        Add("delay", "dynamic", Queued.Replace("%ACTION%", "DELAY").Replace("%OVERRIDE%", "true"));
        Add("narrowed", "dynamic", """
            max_batch_size: 4
            input [ { name: "x" data_type: TYPE_FP32 dims: [ 2 ] } ]
            output [ { name: "y" data_type: TYPE_FP32 dims: [ -1 ] } ]
            """);
        Add("wrong_type", "mlp", """
            max_batch_size: 4
            input [ { name: "input" data_type: TYPE_INT64 dims: [ 64 ] } ]
            output [ { name: "output" data_type: TYPE_FP32 dims: [ 10 ] } ]
            """);
        Add("wrong_dims", "mlp", """
            input [ { name: "input" data_type: TYPE_FP32 dims: [ 32 ] } ]
            output [ { name: "result" data_type: TYPE_FP32 dims: [ 10 ] } ]
            """);
        Add("malformed", "mlp", "name: \"malformed\"\nmax_batch_size: 4\ndynamic_batching {\n  preferred_batch_size: [ 2\n}\n");
        Add("extras", "mlp", """
            optimization { cuda { graphs: true } }
            model_warmup [ { name: "zeros" batch_size: 1 } ]
            instance_group { name: "one" count: 1 kind: KIND_CPU }
            """);
        _repository = Repositories.Create(_models.Path, new NodeMetrics(), _time, _log);
        await _repository.LoadAllAsync(CancellationToken.None);
    }

    public Task DisposeAsync()
    {
        _repository.Dispose();
        _models.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task DefaultTimeout_WithoutOverride_DropsEvenARequestThatAsksForLonger()
    {
        var asksLonger = InferAsync("reject_fixed", Row(timeoutMicros: 60_000_000));
        await PollAsync(() => Version("reject_fixed").QueuedRows == 1);

        var waited = await AdvanceUntilAsync(() => asksLonger.IsCompleted, "the request asking 60 s to end, past the fixed 10 ms timeout");

        var ex = await Assert.ThrowsAsync<InferenceException>(() => asksLonger);
        Assert.Equal(503, ex.StatusCode);
        Assert.InRange(waited, TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(99)); // at its timeout, before the batch delay
    }

    [Fact]
    public async Task DefaultTimeout_WithOverride_TheRequestsOwnTimeoutCounts()
    {
        var asksLonger = InferAsync("reject_override", Row(timeoutMicros: 60_000_000));
        var sendsNone = InferAsync("reject_override", Row(timeoutMicros: null));
        await PollAsync(() => Version("reject_override").QueuedRows == 2);

        var waited = await AdvanceUntilAsync(() => sendsNone.IsCompleted, "the request with no timeout to end, past the default 10 ms");

        var ex = await Assert.ThrowsAsync<InferenceException>(() => sendsNone);
        Assert.Equal(503, ex.StatusCode);
        Assert.InRange(waited, TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(99));
        Assert.False(asksLonger.IsCompleted);
        waited += await AdvanceUntilAsync(() => asksLonger.IsCompleted, "the request asking 60 s to be answered, after the 100 ms delay");
        Assert.Equal(new[] { 2f }, await asksLonger);
        Assert.True(waited >= TimeSpan.FromMilliseconds(100), $"answered after {waited.TotalMilliseconds} ms, before the batch delay");
    }

    [Fact]
    public async Task TimeoutActionDelay_KeepsTheRequestPastItsTimeout()
    {
        var shortTimeout = InferAsync("delay", Row(timeoutMicros: 1000));
        await PollAsync(() => Version("delay").QueuedRows == 1);

        var waited = await AdvanceUntilAsync(() => shortTimeout.IsCompleted, "the short-timeout request to be answered");

        Assert.Equal(new[] { 2f }, await shortTimeout); // kept past its 1 ms timeout ...
        Assert.True(waited >= TimeSpan.FromMilliseconds(100), $"answered after {waited.TotalMilliseconds} ms, before the batch delay"); // ... until its batch ran
    }

    [Fact]
    public async Task DeclaredDims_NarrowTheModelsDynamicDimension()
    {
        var version = Version("narrowed");
        Assert.Equal([-1L, 2L], version.Signature.Inputs[0].Shape);
        Assert.Equal([-1L, -1L], version.Signature.Outputs[0].Shape);

        Assert.Equal(new[] { 2f, 4f }, await Poll.DoneAsync(InferAsync("narrowed", """{"inputs":[{"name":"x","shape":[1,2],"datatype":"FP32","data":[1,2]}]}"""), "a [1,2] request to narrowed"));
        var ex = await Assert.ThrowsAsync<InferenceException>(() =>
            InferAsync("narrowed", """{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1,2,3]}]}"""));
        Assert.Equal(400, ex.StatusCode);
    }

    [Theory]
    [InlineData("wrong_type", "line 2: input \"input\" is declared TYPE_INT64 but the model has TYPE_FP32")]
    [InlineData("wrong_dims", "line 1: input \"input\" is declared with dims [32] but the model has [64] after its batch dimension")]
    [InlineData("wrong_dims", "line 2: output \"result\" is not in the model, whose outputs are \"output\"")]
    [InlineData("wrong_dims", "the model's output \"output\" is not declared")]
    public void Declarations_NotMatchingTheModel_VersionUnavailableWithTheReason(string model, string reason)
    {
        var row = Assert.Single(_repository.GetIndex(), r => r.Name == model);

        Assert.Equal("UNAVAILABLE", row.State);
        Assert.Equal("1", row.Version);
        Assert.Contains(reason, row.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MalformedFile_ModelUnavailableWithTheLine_OthersServe()
    {
        var row = Assert.Single(_repository.GetIndex(), r => r.Name == "malformed");

        Assert.Equal("UNAVAILABLE", row.State);
        Assert.Null(row.Version);
        Assert.Equal("config.pbtxt: line 5, column 1: expected ',' or ']' in the list of 'preferred_batch_size', found '}'", row.Reason);
        Assert.Contains(_log.Entries, e => e.EventId == 22 && e.Text.Contains("line 5, column 1", StringComparison.Ordinal));
        Assert.Equal("READY", Assert.Single(_repository.GetIndex(), r => r.Name == "extras").State);
        Assert.Equal(10, (await Poll.DoneAsync(InferAsync("extras", Mlp()), "an mlp request to extras")).Length);
    }

    [Fact]
    public async Task IgnoredFields_LoggedOncePerModelAndField_ReloadsIncluded()
    {
        await _repository.LoadAsync("extras", CancellationToken.None);
        _models.WriteFile("extras", "config.pbtxt", "optimization { }\ninstance_group { count: 2 kind: KIND_CPU }\n");
        await _repository.LoadAsync("extras", CancellationToken.None);

        var ignored = _log.Entries.Where(e => e.EventId == 70 && e.Text.Contains("Model extras:", StringComparison.Ordinal)).Select(e => e.Text).ToList();
        Assert.Equal(3, ignored.Count);
        Assert.Contains(ignored, t => t.Contains("field optimization of config.pbtxt (line 1, column 1)", StringComparison.Ordinal));
        Assert.Contains(ignored, t => t.Contains("field model_warmup of config.pbtxt (line 2, column 1)", StringComparison.Ordinal));
        Assert.Contains(ignored, t => t.Contains("field instance_group.name of config.pbtxt (line 3, column 18)", StringComparison.Ordinal));
        Assert.Equal(2, Version("extras").InstanceCount);
    }

    private static string Row(long? timeoutMicros) =>
        $$"""{"inputs":[{"name":"x","shape":[1,1],"datatype":"FP32","data":[1]}]{{(timeoutMicros is null ? "" : $",\"parameters\":{{\"timeout\":{timeoutMicros}}}")}}}""";

    private static string Mlp() =>
        $$"""{"inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","data":[{{string.Join(",", Enumerable.Repeat("0", 64))}}]}]}""";

    private void Add(string name, string from, string pbtxt)
    {
        _models.AddVersion(name, 1, from, 1);
        _models.WriteFile(name, "config.pbtxt", pbtxt);
    }

    private ModelHost Version(string model) => _repository.GetReady(model)![0];

    private Task<float[]> InferAsync(string model, string json) => RepositoryInference.InferAsync(_repository, model, json);

    private static Task PollAsync(Func<bool> condition) => Poll.UntilAsync(condition, "the request to be queued");

    private Task<TimeSpan> AdvanceUntilAsync(Func<bool> done, string what) => FakeClockSteps.AdvanceUntilAsync(_time, done, what);
}
