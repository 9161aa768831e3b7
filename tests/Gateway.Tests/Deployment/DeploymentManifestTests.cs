using System.Text.RegularExpressions;
using ServingGateway.Auth;
using ServingGateway.Hosting;
using ServingGateway.TestSupport;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace ServingGateway.Gateway.Tests.Deployment;

/// <summary>
/// The Dockerfile, deploy/compose.yaml and deploy/k8s agree with the server (issue 14): every switch parses as
/// the server parses it, every configuration key they set (switches, <c>Section__Key</c> environment variables)
/// is one docs/CONFIGURATION.md documents, the port the server listens on is the one exposed, probed and routed
/// to, probes ask the health endpoints the server serves, hosts they name exist, both Kubernetes overlays
/// render (with kubectl, when the machine has it), and every launcher applies deploy/runtime.env's runtime settings.
/// </summary>
public sealed partial class DeploymentManifestTests
{
    private static readonly string Deploy = Path.Combine(RepoPaths.Root, "deploy");

    [Fact]
    public void Switches_InEveryManifest_ParseWithoutErrors()
    {
        var containers = Containers();
        Assert.Contains(containers, c => c.Source.Contains("compose", StringComparison.Ordinal));
        Assert.Contains(containers, c => c.Source.Contains("k8s", StringComparison.Ordinal));
        Assert.Contains(containers, c => c.Source == "Dockerfile");
        foreach (var container in containers)
        {
            var parsed = CommandLine.Parse([.. container.Args]);
            Assert.True(parsed.Errors.Count == 0, $"{container.Source}: {string.Join("; ", parsed.Errors)}");
            if (parsed.ConfigFile is { } file)
            {
                // The --config file is the ConfigMap, mounted where the switch says.
                Assert.Equal("/etc/servinggateway/config.json", file);
                var mounts = ((YamlSequenceNode)container.Node.Children["volumeMounts"]).Cast<YamlMappingNode>();
                Assert.Contains(mounts, m => Scalar(m, "mountPath") == "/etc/servinggateway" && Scalar(m, "name") == "config");
            }
        }
    }

    [Fact]
    public void ConfigurationKeys_InEveryManifest_AreDocumented()
    {
        var documented = DocumentedKeys();
        Assert.Contains("Edge:NodesDns", documented);
        Assert.Contains("Role", documented);
        Assert.Contains("Urls", documented);
        Assert.Contains("Inference:ShutdownDrainSeconds", documented);
        var unknown = new List<string>();
        foreach (var container in Containers())
        {
            var keys = CommandLine.Parse([.. container.Args]).ConfigurationArgs.Select(a => a.TrimStart('-').Split('=', 2)[0])
                .Concat(container.Env.Keys.Where(k => k.Contains("__", StringComparison.Ordinal) || k is "Urls").Select(k => k.Replace("__", ":", StringComparison.Ordinal)));
            unknown.AddRange(keys.Where(k => !IsDocumented(k, documented)).Select(k => $"{container.Source}: {k}"));
        }

        var configJson = File.ReadAllText(Path.Combine(Deploy, "k8s", "base", "config.json"));
        var configKeys = ConfigJsonKeys(System.Text.Json.JsonDocument.Parse(configJson).RootElement, "");
        unknown.AddRange(configKeys.Where(k => !IsDocumented(k, documented)).Select(k => $"k8s/base/config.json: {k}"));
        Assert.True(unknown.Count == 0, "keys docs/CONFIGURATION.md does not document: " + string.Join(", ", unknown));
    }

    [Fact]
    public void Ports_ListenedOn_AreTheOnesExposedProbedAndRouted()
    {
        var dockerfile = File.ReadAllLines(Path.Combine(RepoPaths.Root, "Dockerfile"));
        var listen = dockerfile.Select(l => UrlsEnv().Match(l)).Where(m => m.Success).Select(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).Distinct().Single();
        var grpc = dockerfile.Select(l => GrpcUrlsEnv().Match(l)).Where(m => m.Success).Select(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).Distinct().Single();
        Assert.NotEqual(listen, grpc);
        Assert.All(dockerfile.Where(l => l.StartsWith("EXPOSE", StringComparison.Ordinal)), l => Assert.Equal($"EXPOSE {listen} {grpc}", l.Trim()));
        Assert.Contains($"SG_HEALTH_PORT:-{listen}", File.ReadAllText(Path.Combine(Deploy, "healthcheck.sh")), StringComparison.Ordinal);

        // No manifest moves the port away from the image's.
        Assert.All(Containers(), c => Assert.DoesNotContain(c.Args, a => a.StartsWith("--urls", StringComparison.Ordinal)));
        Assert.All(Containers().Where(c => c.Source != "Dockerfile"), c => Assert.False(c.Env.ContainsKey("Urls"), $"{c.Source} sets Urls"));
        Assert.All(Containers(), c => Assert.DoesNotContain(c.Args, a => a.StartsWith("--grpc-urls", StringComparison.Ordinal)));
        Assert.All(Containers().Where(c => c.Source != "Dockerfile"), c => Assert.False(c.Env.ContainsKey("GrpcUrls"), $"{c.Source} sets GrpcUrls"));

        var k8s = K8sDocuments();
        foreach (var container in K8sContainers(k8s).Where(c => c.Args.Count > 0))
        {
            var ports = container.Node.Children.TryGetValue("ports", out var p) ? ((YamlSequenceNode)p).Cast<YamlMappingNode>().ToList() : [];
            var http = Assert.Single(ports, port => Scalar(port, "name") == "http");
            Assert.Equal(listen.ToString(System.Globalization.CultureInfo.InvariantCulture), Scalar(http, "containerPort"));
            foreach (var other in ports.Where(port => Scalar(port, "name") != "http"))
            {
                Assert.Equal("grpc", Scalar(other, "name"));
                Assert.Equal(grpc.ToString(System.Globalization.CultureInfo.InvariantCulture), Scalar(other, "containerPort"));
            }
        }

        var services = k8s.Where(d => Scalar(d, "kind") == "Service").ToDictionary(d => Scalar(Map(d, "metadata"), "name")!);
        foreach (var service in services.Values.Where(s => Scalar(Map(s, "metadata"), "name")!.StartsWith("sg-", StringComparison.Ordinal) && Scalar(Map(s, "metadata"), "name") != "sg-redis"))
        {
            // Each service: the REST port, and the gRPC one where its pods serve gRPC (the nodes').
            var ports = ((YamlSequenceNode)Map(service, "spec").Children["ports"]).Cast<YamlMappingNode>().ToList();
            var port = Assert.Single(ports, p => Scalar(p, "name") == "http");
            Assert.Equal("http", Scalar(port, "targetPort"));
            Assert.Equal(listen.ToString(System.Globalization.CultureInfo.InvariantCulture), Scalar(port, "port"));
            Assert.All(ports.Where(p => p != port), p => Assert.Equal(("grpc", "grpc", grpc.ToString(System.Globalization.CultureInfo.InvariantCulture)), (Scalar(p, "name"), Scalar(p, "targetPort"), Scalar(p, "port"))));
        }

        // Host:port the manifests point servers at: a node URL, --nodes-dns, --redis; each names a service there.
        var compose = ComposeServices();
        foreach (var container in Containers())
        {
            var names = container.Source.Contains("compose", StringComparison.Ordinal) ? compose.Keys.ToHashSet() : services.Keys.ToHashSet();
            foreach (var (host, port) in Targets(container.Args))
            {
                Assert.True(names.Contains(host), $"{container.Source} points at {host}, which it does not define");
                Assert.Equal(host.Contains("redis", StringComparison.Ordinal) ? 6379 : listen, port);
            }
        }

        var edge = (YamlMappingNode)compose["edge"];
        Assert.Contains($"127.0.0.1:{listen}:{listen}", ((YamlSequenceNode)edge.Children["ports"]).Select(n => n.ToString()));
    }

    [Fact]
    public void Probes_AskTheHealthEndpointsTheServerServes()
    {
        var health = NodeEndpointRoles.All.Where(e => e.Role == GatewayRoles.None && e.Method == "GET").ToDictionary(e => e.Id, e => e.Pattern);
        Assert.Equal("/v2/health/ready", health["health-ready"]);
        Assert.Equal("/v2/health/live", health["health-live"]);

        var probes = 0;
        foreach (var container in K8sContainers(K8sDocuments()))
        {
            foreach (var (kind, expected) in new[] { ("readinessProbe", "health-ready"), ("startupProbe", "health-ready"), ("livenessProbe", "health-live") })
            {
                if (container.Node.Children.TryGetValue(kind, out var probe) && ((YamlMappingNode)probe).Children.TryGetValue("httpGet", out var get))
                {
                    Assert.Equal(health[expected], Scalar((YamlMappingNode)get, "path"));
                    Assert.Equal("http", Scalar((YamlMappingNode)get, "port"));
                    probes++;
                }
            }

            if (container.Args.Count > 0)
            {
                Assert.True(container.Node.Children.ContainsKey("readinessProbe"), $"{container.Source}: no readinessProbe");
                Assert.True(container.Node.Children.ContainsKey("livenessProbe"), $"{container.Source}: no livenessProbe");
            }
        }

        Assert.True(probes >= 5, $"only {probes} HTTP probes found");
        Assert.Contains($"GET {health["health-ready"]} HTTP/1.1", File.ReadAllText(Path.Combine(Deploy, "healthcheck.sh")), StringComparison.Ordinal);
        var dockerfile = File.ReadAllText(Path.Combine(RepoPaths.Root, "Dockerfile"));
        Assert.Equal(2, Regex.Matches(dockerfile, "HEALTHCHECK .*/app/deploy/healthcheck.sh").Count);
        Assert.Equal(2, Regex.Matches(dockerfile, "COPY (--from=build )?deploy/healthcheck.sh /app/deploy/").Count);
    }

    [Fact]
    public void Images_BuildWithThePublishScriptCiRuns()
    {
        var dockerfile = File.ReadAllText(Path.Combine(RepoPaths.Root, "Dockerfile"));
        Assert.Contains("./deploy/publish.sh cpu ", dockerfile, StringComparison.Ordinal);
        Assert.Contains("./deploy/publish.sh gpu ", dockerfile, StringComparison.Ordinal);
        Assert.Contains("deploy/publish.sh cpu ", File.ReadAllText(Path.Combine(RepoPaths.Root, ".ci", "run")), StringComparison.Ordinal);

        // The cpu target is the default (the last stage), and both run as a non-root user.
        var stages = Regex.Matches(dockerfile, @"^FROM .* AS (\w[\w-]*)", RegexOptions.Multiline).Select(m => m.Groups[1].Value).ToList();
        Assert.Equal("cpu", stages[^1]);
        Assert.Contains("gpu", stages);
        Assert.Equal(2, Regex.Matches(dockerfile, @"^USER (1654|\$APP_UID)$", RegexOptions.Multiline).Count);
    }

    [Fact]
    public void RuntimeSettings_OfDeployRuntimeEnv_AreAppliedByEveryLauncher()
    {
        var settings = File.ReadAllLines(Path.Combine(Deploy, "runtime.env"))
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => l.Split('=', 2))
            .ToDictionary(p => p[0], p => p[1], StringComparer.Ordinal);
        Assert.Equal("1", settings["DOTNET_TieredPGO"]);
        Assert.Equal("0", settings["DOTNET_TC_CallCountingDelayMs"]);

        // Each image: the stages with an ENTRYPOINT set every one of them.
        var dockerfile = File.ReadAllText(Path.Combine(RepoPaths.Root, "Dockerfile"));
        var images = Regex.Split(dockerfile, "^(?=FROM )", RegexOptions.Multiline).Where(s => s.Contains("\nENTRYPOINT ", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, images.Count);
        foreach (var image in images)
        {
            var env = DockerfileEnv(image);
            foreach (var (name, value) in settings)
            {
                Assert.True(env.GetValueOrDefault(name) == value, $"Dockerfile, {image.Split('\n')[0]}: {name} is '{env.GetValueOrDefault(name)}', not '{value}'");
            }
        }

        // `dotnet run --project src/Gateway` (the README's first command): every launch profile.
        using var launch = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoPaths.Root, "src", "Gateway", "Properties", "launchSettings.json")));
        var profiles = launch.RootElement.GetProperty("profiles").EnumerateObject().ToList();
        Assert.NotEmpty(profiles);
        foreach (var profile in profiles)
        {
            var variables = profile.Value.GetProperty("environmentVariables");
            foreach (var (name, value) in settings)
            {
                Assert.True(variables.TryGetProperty(name, out var set) && set.GetString() == value, $"launchSettings.json, {profile.Name}: {name} is not '{value}'");
            }
        }

        // The benchmarks start every server with them.
        Assert.Contains("/../deploy/runtime.env", File.ReadAllText(Path.Combine(RepoPaths.Root, "benchmarks", "lib.sh")), StringComparison.Ordinal);
    }

    [Fact]
    public void Secrets_TheManifestsRead_AreTheOnesMakeKeysWrites()
    {
        var written = Regex.Matches(File.ReadAllText(Path.Combine(Deploy, "make-keys.sh")), @"^(SG_[A-Z0-9_]+)=", RegexOptions.Multiline).Select(m => m.Groups[1].Value).ToHashSet();
        Assert.Contains("SG_NODE_KEY", written);
        var read = new List<string>();
        foreach (var document in K8sDocuments())
        {
            read.AddRange(AllMappings(document).Where(m => m.Children.ContainsKey("secretKeyRef")).Select(m => Scalar(Map(m, "secretKeyRef"), "key")!));
        }

        read.AddRange(Regex.Matches(File.ReadAllText(Path.Combine(Deploy, "compose.yaml")), @"\$\{(SG_[A-Z0-9_]+)[:}]").Select(m => m.Groups[1].Value));
        read.AddRange(ComposeSecrets());
        Assert.True(read.Count >= 8, $"only {read.Count} secret references found");
        Assert.All(read, key => Assert.Contains(key, written));
    }

    [SkippableFact]
    public async Task Overlays_RenderWithKubectl()
    {
        Skip.If(FindOnPath("kubectl") is null, "kubectl is not installed (the CI machine has it: apt package kubectl)");
        var copy = Directory.CreateTempSubdirectory("sg-deploy-");
        try
        {
            CopyDirectory(Deploy, copy.FullName);
            File.WriteAllText(Path.Combine(copy.FullName, "k8s", "base", "keys.env"), "SG_ADMIN_KEY=a\nSG_ADMIN_KEY_SHA256=b\nSG_NODE_KEY=c\nSG_NODE_KEY_SHA256=d\nSG_REDIS_SECRET=e\n");
            var cpu = await KustomizeAsync(Path.Combine(copy.FullName, "k8s", "overlays", "cpu"));
            var gpu = await KustomizeAsync(Path.Combine(copy.FullName, "k8s", "overlays", "gpu"));

            Assert.Contains("image: servinggateway:cpu", cpu, StringComparison.Ordinal);
            Assert.DoesNotContain("nvidia.com/gpu", cpu, StringComparison.Ordinal);
            Assert.Contains("image: servinggateway:gpu", gpu, StringComparison.Ordinal);
            Assert.DoesNotContain("servinggateway:cpu", gpu, StringComparison.Ordinal);
            Assert.Equal(2, Regex.Matches(gpu, @"nvidia.com/gpu: ""1""").Count);
            Assert.Contains("value: cuda", gpu, StringComparison.Ordinal);
            // The patch merged into the node's container: its args and probes are still there.
            Assert.Equal(2, Regex.Matches(gpu, @"- --role").Count);
            Assert.Equal(2, Regex.Matches(gpu, "livenessProbe:").Count);
        }
        finally
        {
            copy.Delete(recursive: true);
        }
    }

    // A server container found in a manifest: its arguments and environment.
    private sealed record Container(string Source, IReadOnlyList<string> Args, IReadOnlyDictionary<string, string> Env, YamlMappingNode Node);

    private static List<Container> Containers()
    {
        var containers = new List<Container>();
        var dockerfile = File.ReadAllLines(Path.Combine(RepoPaths.Root, "Dockerfile"));
        var env = DockerfileEnv(string.Join('\n', dockerfile));

        foreach (var cmd in dockerfile.Where(l => l.StartsWith("CMD ", StringComparison.Ordinal)))
        {
            var args = System.Text.Json.JsonSerializer.Deserialize<string[]>(cmd[4..])!;
            containers.Add(new Container("Dockerfile", args, env, new YamlMappingNode()));
        }

        foreach (var (name, node) in ComposeServices())
        {
            var service = (YamlMappingNode)node;
            if (Scalar(service, "image")?.StartsWith("servinggateway", StringComparison.Ordinal) != true)
            {
                continue;
            }

            var args = ((YamlSequenceNode)service.Children["command"]).Select(n => n.ToString()).ToList();
            var environment = service.Children.TryGetValue("environment", out var e)
                ? ((YamlMappingNode)e).Children.ToDictionary(kv => kv.Key.ToString(), kv => kv.Value.ToString(), StringComparer.Ordinal)
                : [];
            containers.Add(new Container($"compose.yaml {name}", args, environment, service));
        }

        containers.AddRange(K8sContainers(K8sDocuments()));
        return containers;
    }

    // The variables the ENV instructions of a Dockerfile (or of one stage of it) set; a later one wins.
    private static Dictionary<string, string> DockerfileEnv(string dockerfile)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (Match m in DockerEnv().Matches(dockerfile.Replace("\\\n", " ", StringComparison.Ordinal)))
        {
            foreach (Match pair in Regex.Matches(m.Groups[1].Value, @"([A-Za-z_][A-Za-z0-9_]*)=(\S*)"))
            {
                env[pair.Groups[1].Value] = pair.Groups[2].Value;
            }
        }

        return env;
    }

    private static IEnumerable<Container> K8sContainers(IEnumerable<YamlMappingNode> documents)
    {
        foreach (var document in documents.Where(d => Scalar(d, "kind") is "Deployment" or "StatefulSet"))
        {
            var spec = Map(Map(Map(document, "spec"), "template"), "spec");
            foreach (var container in ((YamlSequenceNode)spec.Children["containers"]).Cast<YamlMappingNode>())
            {
                if (Scalar(container, "image") is { } image && !image.StartsWith("servinggateway", StringComparison.Ordinal))
                {
                    continue;
                }

                var args = container.Children.TryGetValue("args", out var a) ? ((YamlSequenceNode)a).Select(n => n.ToString()).ToList() : [];
                var env = container.Children.TryGetValue("env", out var e)
                    ? ((YamlSequenceNode)e).Cast<YamlMappingNode>().ToDictionary(v => Scalar(v, "name")!, v => Scalar(v, "value") ?? "(secret)", StringComparer.Ordinal)
                    : [];
                yield return new Container($"k8s {Scalar(Map(document, "metadata"), "name")}/{Scalar(container, "name")}", args, env, container);
            }
        }
    }

    private static List<YamlMappingNode> K8sDocuments()
    {
        var documents = new List<YamlMappingNode>();
        foreach (var file in Directory.EnumerateFiles(Path.Combine(Deploy, "k8s"), "*.yaml", SearchOption.AllDirectories))
        {
            documents.AddRange(Load(file).Where(d => d.Children.ContainsKey("kind")));
        }

        Assert.True(documents.Count >= 10, $"only {documents.Count} Kubernetes documents");
        return documents;
    }

    private static Dictionary<string, YamlNode> ComposeServices() =>
        Map(Load(Path.Combine(Deploy, "compose.yaml")).Single(), "services").Children.ToDictionary(kv => kv.Key.ToString(), kv => kv.Value, StringComparer.Ordinal);

    private static IEnumerable<string> ComposeSecrets() =>
        Map(Load(Path.Combine(Deploy, "compose.yaml")).Single(), "secrets").Children.Values.Select(v => Scalar((YamlMappingNode)v, "environment")!);

    // Every document of a YAML file, with compose's merge keys (<<: *anchor) applied.
    private static List<YamlMappingNode> Load(string path)
    {
        using var reader = new StringReader(File.ReadAllText(path));
        var stream = new YamlStream();
        stream.Load(new MergingParser(new Parser(reader)));
        return stream.Documents.Select(d => d.RootNode).OfType<YamlMappingNode>().ToList();
    }

    private static IEnumerable<YamlMappingNode> AllMappings(YamlNode node)
    {
        if (node is YamlMappingNode map)
        {
            yield return map;
        }

        var children = node switch
        {
            YamlMappingNode m => m.Children.Values,
            YamlSequenceNode s => s.Children,
            _ => (IEnumerable<YamlNode>)[],
        };
        foreach (var inner in children.SelectMany(AllMappings))
        {
            yield return inner;
        }
    }

    private static YamlMappingNode Map(YamlMappingNode node, string key) => (YamlMappingNode)node.Children[key];

    private static string? Scalar(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(key, out var value) && value is YamlScalarNode scalar ? scalar.Value : null;

    // The host:port pairs a server's switches point at.
    private static IEnumerable<(string Host, int Port)> Targets(IReadOnlyList<string> args)
    {
        for (var i = 0; i + 1 < args.Count; i++)
        {
            var value = args[i] switch
            {
                "--node" => new Uri(args[i + 1]).Authority,
                "--nodes-dns" or "--redis" => args[i + 1],
                _ => null,
            };
            if (value is not null)
            {
                var parts = value.Split(':');
                yield return (parts[0], int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture));
            }
        }
    }

    // Section:Key for every row of docs/CONFIGURATION.md's tables: a row's key is complete when it holds a ':',
    // else it belongs to the section its heading names ("## Edge (`Edge` section ...)"); config.json's keys
    // (a heading without a section) are not server keys.
    private static HashSet<string> DocumentedKeys()
    {
        var keys = new HashSet<string>(StringComparer.Ordinal);
        string? section = null;
        foreach (var line in File.ReadLines(Path.Combine(RepoPaths.Root, "docs", "CONFIGURATION.md")))
        {
            if (line.StartsWith("## ", StringComparison.Ordinal))
            {
                var named = Regex.Match(line, @"\(`([A-Za-z]+)` section");
                section = named.Success ? named.Groups[1].Value : null;
                continue;
            }

            if (line.StartsWith("| `--", StringComparison.Ordinal) && Regex.Match(line, @"^\| `--[^|]*(?:\\\|[^|]*)*\| `([A-Za-z][A-Za-z0-9:]*)` \|") is { Success: true } switchRow)
            {
                // The switches table: its second cell is the key the switch sets.
                keys.Add(switchRow.Groups[1].Value.EndsWith(":N", StringComparison.Ordinal) ? switchRow.Groups[1].Value[..^2] : switchRow.Groups[1].Value);
                continue;
            }

            foreach (Match cell in Regex.Matches(line, @"^\| `([A-Za-z][A-Za-z0-9:]*)` \||\| `([A-Z][A-Za-z]*:[A-Za-z0-9:]+)` \|"))
            {
                var key = cell.Groups[1].Success ? cell.Groups[1].Value : cell.Groups[2].Value;
                if (key.Contains(':', StringComparison.Ordinal))
                {
                    keys.Add(key.EndsWith(":N", StringComparison.Ordinal) || key.EndsWith(":NAME", StringComparison.Ordinal) ? key[..key.LastIndexOf(':')] : key);
                }
                else if (section is not null)
                {
                    keys.Add($"{section}:{key}");
                }
            }
        }

        return keys;
    }

    // A key is documented when it, or the key it is an element of (Auth:Keys:0:Sha256 -> Auth:Keys), is.
    private static bool IsDocumented(string key, HashSet<string> documented)
    {
        var parts = key.Split(':');
        for (var n = parts.Length; n > 0; n--)
        {
            if (documented.Contains(string.Join(':', parts.Take(n))))
            {
                return n == parts.Length || int.TryParse(parts[n], out _);
            }
        }

        return false;
    }

    private static IEnumerable<string> ConfigJsonKeys(System.Text.Json.JsonElement element, string prefix) =>
        element.ValueKind == System.Text.Json.JsonValueKind.Object
            ? element.EnumerateObject().SelectMany(p => ConfigJsonKeys(p.Value, prefix.Length == 0 ? p.Name : $"{prefix}:{p.Name}"))
            : [prefix];

    private static async Task<string> KustomizeAsync(string overlay)
    {
        var (exitCode, output, error) = await ToolProcess.RunAsync("kubectl", ["kustomize", overlay]);
        Assert.True(exitCode == 0, $"kubectl kustomize {overlay}: {error}");
        return output;
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);

    private static void CopyDirectory(string from, string to)
    {
        foreach (var directory in Directory.EnumerateDirectories(from, "*", SearchOption.AllDirectories))
        {
            Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, directory)));
        }

        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            File.Copy(file, Path.Combine(to, Path.GetRelativePath(from, file)));
        }
    }

    [GeneratedRegex(@"^ENV ((?:[A-Za-z_][A-Za-z0-9_]*=\S*\s*)+)$", RegexOptions.Multiline)]
    private static partial Regex DockerEnv();

    [GeneratedRegex(@"(?<![A-Za-z])Urls=http://0\.0\.0\.0:(\d+)")]
    private static partial Regex UrlsEnv();

    [GeneratedRegex(@"GrpcUrls=http://0\.0\.0\.0:(\d+)")]
    private static partial Regex GrpcUrlsEnv();
}
