using System.Globalization;
using ServingGateway.Auth;
using ServingGateway.FunctionalTests.Infrastructure;
using ServingGateway.TestSupport;

namespace ServingGateway.FunctionalTests;

/// <summary>
/// Walks a generated list of spellings of every protected node endpoint (case variants of every segment,
/// %2F and %2f, percent-encoded letters, doubled and trailing slashes, dot segments, HEAD, OPTIONS and the
/// other method) against the standalone, node and edge roles, with no key, an infer key and a deploy key:
/// none is served without the role it needs, and none that is served escapes its rate limit.
/// </summary>
public sealed class PathSpellingTests : IDisposable
{
    private const string InferKey = "walk-infer-key";
    private const string DeployKey = "walk-deploy-key";
    private const string NodeKey = "walk-node-key";
    private const int DefaultBurst = 3;
    private const int MlpBurst = 2;
    private static readonly string MlpRequest = Oip.JsonRequest("input", [1, 64], new float[64]);

    private static readonly (string? Key, GatewayRoles Roles)[] Callers =
    [
        (null, GatewayRoles.None),
        (InferKey, GatewayRoles.Infer),
        (DeployKey, GatewayRoles.Deploy),
    ];

    private static string Hash(string key) => ApiKeyMiddleware.Hash(key);

    private readonly TempModelRepository _models = new("mlp");
    private readonly string _config = Path.Combine(Path.GetTempPath(), $"sg-walk-{Guid.NewGuid():N}.json");

    public PathSpellingTests()
    {
        File.WriteAllText(_config, $$"""
            {
              "Auth": {
                "AllowAnonymous": false,
                "Keys": [
                  {"Name": "infer", "Sha256": "{{Hash(InferKey)}}", "Roles": ["infer"]},
                  {"Name": "deploy", "Sha256": "{{Hash(DeployKey)}}", "Roles": ["deploy"]}
                ]
              },
              "Node": {"Keys": [{"Name": "edge", "Sha256": "{{Hash(NodeKey)}}"}]},
              "RateLimits": {
                "Default": {"Rate": 0.001, "Burst": {{DefaultBurst}}},
                "Models": {"mlp": {"Rate": 0.001, "Burst": {{MlpBurst}} } }
              }
            }
            """);
    }

    public void Dispose()
    {
        File.Delete(_config);
        _models.Dispose();
    }

    /// <summary>Every spelling of <paramref name="path"/> this test sends (the path as the node maps it, first).</summary>
    internal static IEnumerable<string> Spellings(string path)
    {
        var segments = path.Trim('/').Split('/');
        string Join(IEnumerable<string> parts, string separator = "/") => "/" + string.Join(separator, parts);
        string With(int i, string segment) => Join(segments.Select((s, j) => j == i ? segment : s));
        string Slash(int k, string replacement) => "/" + string.Concat(segments.Select((s, j) => (j == 0 ? "" : j == k ? replacement : "/") + s));

        yield return path;
        yield return path.ToUpperInvariant();
        yield return path + "/";
        yield return path + "//";
        yield return path + "/.";
        yield return "/." + path;
        yield return "/.." + path;
        yield return "//" + path.TrimStart('/');
        for (var i = 0; i < segments.Length; i++)
        {
            var segment = segments[i];
            yield return With(i, segment.ToUpperInvariant());
            yield return With(i, char.ToUpperInvariant(segment[0]) + segment[1..]);
            yield return With(i, string.Concat(segment.Select((c, j) => j % 2 == 0 ? char.ToUpperInvariant(c) : c)));
            yield return With(i, "%" + ((int)segment[0]).ToString("X2", CultureInfo.InvariantCulture) + segment[1..]);
            yield return With(i, "%" + ((int)segment[0]).ToString("x2", CultureInfo.InvariantCulture) + segment[1..]);
            yield return With(i, segment + "%20");
            yield return With(i, "./" + segment);
            yield return With(i, "x/../" + segment);
            yield return With(i, "%2e/" + segment);
            yield return With(i, "x/%2E%2E/" + segment);
            if (i > 0)
            {
                yield return Slash(i, "%2F");
                yield return Slash(i, "%2f");
                yield return Slash(i, "//");
                yield return Slash(i, "/./");
                yield return Slash(i, "\\");
            }
        }
    }

    // Every protected endpoint a server maps, in every spelling: the gRPC methods too (walked over HTTP/1.1, where a
    // handler answers only what the role lets through), except server reflection (off here).
    private static IEnumerable<(NodeEndpointRoles.NodeEndpoint Endpoint, string Method, string Target, string? Body)> Requests()
    {
        foreach (var endpoint in NodeEndpointRoles.All.Where(e => e.Role != GatewayRoles.None && !e.Id.StartsWith("grpc-reflection", StringComparison.Ordinal)))
        {
            var path = endpoint.Pattern.Replace("{model}", "mlp", StringComparison.Ordinal).Replace("{version}", "1", StringComparison.Ordinal);
            var body = endpoint.Pattern.EndsWith("/infer", StringComparison.Ordinal) ? MlpRequest : endpoint.Method == "POST" ? "" : null;
            foreach (var target in Spellings(path).Distinct(StringComparer.Ordinal))
            {
                yield return (endpoint, endpoint.Method, target, body);
            }

            foreach (var method in new[] { "HEAD", "OPTIONS", endpoint.Method == "GET" ? "POST" : "GET" })
            {
                yield return (endpoint, method, path, method == "POST" ? body ?? "" : null);
                yield return (endpoint, method, path.ToUpperInvariant(), method == "POST" ? body ?? "" : null);
            }
        }
    }

    // A request no handler saw: refused (401, 403), or the router found no endpoint (404 with the router's
    // message, 405), or Kestrel refused the request line (400 before any middleware: no rate-limit header).
    private static bool NotServed(RawHttp.Reply reply) =>
        reply.Status is 401 or 403 or 405
        || (reply.Status == 404 && reply.Body.Contains("no endpoint at", StringComparison.Ordinal))
        || (reply.Status == 400 && !reply.Has("RateLimit-Limit"));

    [Fact]
    public async Task Walk_Standalone_NoSpellingServedWithoutItsRoleNorPastItsLimit()
    {
        await using var server = await GatewayServer.StartAsync(_models.Path, "--config", _config);

        await WalkEdgePipelineAsync(server.BaseAddress, forwarded: false);
    }

    [Fact]
    public async Task Walk_Edge_NoSpellingForwardedWithoutItsRoleNorPastItsLimit()
    {
        await using var node = await GatewayServer.StartWithGrpcAsync(_models.Path, "--role", "node", "--config", _config);
        await using var edge = await GatewayServer.StartAsync(_models.Path, "--role", "edge", "--node", node.BaseAddress.ToString().TrimEnd('/'), "--Edge:NodeKey", NodeKey,
            "--Edge:NodeGrpcPort", $"{node.GrpcAddress!.Port}", "--config", _config);

        await WalkEdgePipelineAsync(edge.BaseAddress, forwarded: true);
    }

    [Fact]
    public async Task Walk_Node_NoSpellingServedWithoutTheNodeKey()
    {
        await using var node = await GatewayServer.StartAsync(_models.Path, "--role", "node", "--config", _config);

        var served = 0;
        foreach (var (_, method, target, body) in Requests())
        {
            foreach (var (key, _) in Callers)
            {
                var reply = await RawHttp.SendAsync(node.BaseAddress, method, target, key, body);
                Assert.False(reply.Has("X-Served-By"), $"{method} {target} with key {key ?? "(none)"} was served by the node: {reply}");
                Assert.True(reply.Status is 401 or 400, $"{method} {target} with key {key ?? "(none)"}: {reply}");
            }

            // The edge's key opens every endpoint: the walk reaches the handlers.
            var withNodeKey = await RawHttp.SendAsync(node.BaseAddress, method, target, NodeKey, body);
            served += withNodeKey.Has("X-Served-By") && withNodeKey.Status < 400 ? 1 : 0;
            Assert.NotEqual(401, withNodeKey.Status);
        }

        Assert.True(served > 0);
    }

    private static async Task WalkEdgePipelineAsync(Uri server, bool forwarded)
    {
        var passed = new Dictionary<(string? Key, string Limit), int>();
        var limited = new HashSet<string?>();
        var ok = new HashSet<string?>();
        var count = 0;
        foreach (var (endpoint, method, target, body) in Requests())
        {
            foreach (var (key, roles) in Callers)
            {
                var reply = await RawHttp.SendAsync(server, method, target, key, body);
                var what = $"{method} {target} with key {key ?? "(none)"}: {reply}";
                count++;
                if ((roles & endpoint.Role) != endpoint.Role)
                {
                    Assert.True(NotServed(reply), "served without the role: " + what);
                    Assert.False(reply.Has("RateLimit-Limit"), "reached the rate limiter without the role: " + what);
                    Assert.False(forwarded && reply.Has("X-Served-By"), "forwarded without the role: " + what);
                    continue;
                }

                if (NotServed(reply))
                {
                    Assert.False(forwarded && reply.Has("X-Served-By"), "forwarded although the edge has no such endpoint: " + what);
                    continue;
                }

                // Everything a handler answered went through a bucket, and no bucket let more through than its burst.
                Assert.True(reply.Has("RateLimit-Limit"), "served past the rate limiter: " + what);
                if (reply.Status == 429)
                {
                    limited.Add(key);
                    continue;
                }

                var limit = reply.Headers["RateLimit-Limit"];
                passed[(key, limit)] = passed.GetValueOrDefault((key, limit)) + 1;
                Assert.True(passed[(key, limit)] <= int.Parse(limit, CultureInfo.InvariantCulture), $"more than the burst of {limit} passed: " + what);
                if (reply.Status == 200)
                {
                    ok.Add(key);
                }
            }
        }

        Assert.True(count > 1000, $"only {count} requests were generated");
        Assert.Equal([DeployKey, InferKey], limited.Order(StringComparer.Ordinal));
        Assert.Equal([DeployKey, InferKey], ok.Order(StringComparer.Ordinal));
    }
}
