namespace ServingGateway.Batching;

/// <summary>
/// One request in a batcher: what it carries, how it batches, and the completion its caller awaits.
/// </summary>
/// <typeparam name="TRequest">The request.</typeparam>
/// <typeparam name="TResult">What its caller gets back.</typeparam>
internal sealed class BatchEntry<TRequest, TResult>
{
    private readonly TaskCompletionSource<TResult> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public BatchEntry(TRequest request, int rows, object groupKey, int priority, long enqueuedAt, long deadline, CancellationToken cancellationToken)
    {
        Request = request;
        Rows = rows;
        GroupKey = groupKey;
        Priority = priority;
        EnqueuedAt = enqueuedAt;
        Deadline = deadline;
        CancellationToken = cancellationToken;
    }

    /// <summary>The request.</summary>
    public TRequest Request { get; }

    /// <summary>Rows it adds to a batch.</summary>
    public int Rows { get; }

    /// <summary>The memory its inputs hold while it waits: what the queue's byte limit counts.</summary>
    public long Bytes { get; init; }

    /// <summary>Requests share a batch only when their keys are equal (their non-batch dimensions match).</summary>
    public object GroupKey { get; }

    /// <summary>Priority level; 0 is served first.</summary>
    public int Priority { get; }

    /// <summary>Timestamp (of the batcher's TimeProvider) when it was queued.</summary>
    public long EnqueuedAt { get; }

    /// <summary>Timestamp after which it is dropped if still queued; <see cref="long.MaxValue"/> for none.</summary>
    public long Deadline { get; }

    /// <summary>Timestamp by which its answer counts as in time (its SLO or timeout); <see cref="long.MaxValue"/> for none.</summary>
    public long Target { get; init; } = long.MaxValue;

    /// <summary>The caller's span when it was sampled, else default: the batch run's spans link to it (<see cref="BatchingTelemetry"/>).</summary>
    public System.Diagnostics.ActivityContext Trace { get; init; }

    /// <summary>The caller's cancellation: a queued request whose caller went away is dropped uncomputed.</summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>Timestamp when it left the queue in a batch.</summary>
    public long DispatchedAt { get; internal set; }

    /// <summary>The wake-up registered on <see cref="CancellationToken"/> while the request is queued.</summary>
    internal CancellationTokenRegistration Registration { get; set; }

    /// <summary>Completes when the request has a result or has failed.</summary>
    public Task<TResult> Completion => _completion.Task;

    /// <summary>Gives the caller its result; false when it already has one (or an error).</summary>
    public bool Complete(TResult result) => _completion.TrySetResult(result);

    /// <summary>Gives the caller an error; false when it already has a result (or an error).</summary>
    public bool Fail(Exception exception) => _completion.TrySetException(exception);

    internal bool TrySetCanceled() => _completion.TrySetCanceled(CancellationToken);
}
