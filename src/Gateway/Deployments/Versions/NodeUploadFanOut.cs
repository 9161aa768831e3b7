using System.Net.Http.Headers;
using Microsoft.Extensions.Options;
using ServingGateway.Deployments.Fleet;

namespace ServingGateway.Deployments.Versions;

/// <summary>
/// An edge's uploads: the body is received once (bounded by <c>Deployments:MaxUploadMb</c>, into a temporary file)
/// and streamed from it to every node of the cluster, healthy or not, as the same <c>PUT</c> with <c>Edge:NodeKey</c>,
/// all at once (<see cref="NodeFanOut"/>); each node checks and stores it as a standalone process would. The answer
/// is the nodes' (201 when any node created it, else 200) only when every node stored it with the same digest; the
/// nodes' own status when every node refused it alike (the upload is at fault: 400, 409, 413); otherwise 502 naming
/// each node and what it answered.
/// </summary>
internal sealed partial class NodeUploadFanOut : IVersionUploads
{
    /// <summary>How long one node may take to receive, check and store an upload.</summary>
    public static readonly TimeSpan UploadTimeout = TimeSpan.FromMinutes(10);

    private readonly NodeFanOut _nodes;
    private readonly IOptionsMonitor<VersionUploadOptions> _options;
    private readonly VersionCatchUp _catchUp;
    private readonly ILogger<NodeUploadFanOut> _logger;

    public NodeUploadFanOut(NodeFanOut nodes, VersionCatchUp catchUp, IOptionsMonitor<VersionUploadOptions> options, ILogger<NodeUploadFanOut> logger)
    {
        _nodes = nodes;
        _catchUp = catchUp;
        _options = options;
        _logger = logger;
    }

    /// <inheritdoc />
    public async Task<StoredVersion> StoreAsync(UploadRequest request, Stream body, UploadReceipt receipt, CancellationToken cancellationToken)
    {
        if (_nodes.Nodes().Count == 0)
        {
            throw receipt.Refuse("nodes_failed", StatusCodes.Status503ServiceUnavailable, "no node is known to upload to (Edge:Nodes, Edge:NodesDns)");
        }

        var path = Path.Combine(Path.GetTempPath(), "sg-upload-" + Guid.NewGuid().ToString("N"));
        try
        {
            await UploadRequest.ReceiveAsync(body, path, _options.CurrentValue, receipt, cancellationToken).ConfigureAwait(false);
            var calls = await _nodes.SendAsync(HttpMethod.Put, $"/admin/models/{Uri.EscapeDataString(request.Model)}/versions/{request.Version}", () =>
            {
                var content = new StreamContent(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true));
                content.Headers.ContentType = MediaTypeHeaderValue.Parse(request.ContentType);
                return content;
            }, UploadTimeout, cancellationToken).ConfigureAwait(false);
            var answers = calls.Select(NodeAnswer.Read).ToArray();
            _catchUp.Missed(answers.Where(a => a.Status is not (StatusCodes.Status200OK or StatusCodes.Status201Created)).Select(a => a.Node));
            return Decide(request, answers, receipt, _logger);
        }
        finally
        {
            // What the nodes store changed (on some of them at least): the catch-up's reading is stale.
            _catchUp.Forget();
            File.Delete(path);
        }
    }

    /// <summary>What the nodes' answers make of the upload (see the class remarks).</summary>
    internal static StoredVersion Decide(UploadRequest request, NodeAnswer[] answers, UploadReceipt receipt, ILogger logger)
    {
        var digests = answers.Select(a => a.Digest).Distinct(StringComparer.Ordinal).ToArray();
        if (answers.All(a => a.Status is StatusCodes.Status200OK or StatusCodes.Status201Created) && digests is [{ } digest])
        {
            var created = answers.Any(a => a.Status == StatusCodes.Status201Created);
            receipt.Digest = digest;
            receipt.Result = created ? "created" : "unchanged";
            return new StoredVersion(request.Model, request.Version, digest, created);
        }

        if (answers.Select(a => a.Status).Distinct().ToArray() is [var status and (400 or 409 or 413 or 415)])
        {
            var result = status switch
            {
                StatusCodes.Status409Conflict => "conflict",
                StatusCodes.Status413PayloadTooLarge => "too_large",
                _ => "invalid",
            };
            throw receipt.Refuse(result, status, $"every node refused the upload ({status}); {answers[0].Node}: {answers[0].Message}");
        }

        var stored = answers.Where(a => a.Status is StatusCodes.Status200OK or StatusCodes.Status201Created).Select(a => $"{a.Node} ({a.Status}, {a.Digest})");
        var failed = answers.Where(a => a.Status is not (StatusCodes.Status200OK or StatusCodes.Status201Created))
            .Select(a => a.Status == 0 ? $"{a.Node}: unreachable ({a.Message})" : $"{a.Node}: {a.Status} {a.Message}");
        var text = $"the upload did not reach every node: stored on [{string.Join(", ", stored)}]; failed on [{string.Join("; ", failed)}]";
        Log.NodesFailed(logger, request.Model, request.Version, text);
        throw receipt.Refuse("nodes_failed", StatusCodes.Status502BadGateway, text);
    }

    /// <summary>One node's answer: its status (0: unreachable), the digest of a 200/201, or the error it gave.</summary>
    internal sealed record NodeAnswer(string Node, int Status, string? Digest, string Message)
    {
        /// <summary>Reads a node's JSON answer: <c>{"digest"}</c> on success, <c>{"error"}</c> otherwise.</summary>
        public static NodeAnswer Read(NodeCall call)
        {
            var (node, status, text) = call;
            if (status == 0)
            {
                return new NodeAnswer(node, 0, null, text);
            }

            return call.UploadAnswer() is (var digest, var error)
                ? new NodeAnswer(node, status, digest, error ?? "")
                : new NodeAnswer(node, status, null, UploadRefusedException.Echo(text));
        }
    }

    private static partial class Log
    {
        [LoggerMessage(204, LogLevel.Warning, "Upload of model {Model} version {Version}: {Outcome}")]
        public static partial void NodesFailed(ILogger logger, string model, string version, string outcome);
    }
}
