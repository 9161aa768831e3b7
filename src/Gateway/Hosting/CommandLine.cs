namespace ServingGateway.Hosting;

/// <summary>
/// The switches of <c>ServingGateway</c>. Each maps to a configuration key, so appsettings.json, the
/// <c>--config</c> file and environment variables (<c>Inference__ModelRepository</c>) can set the same
/// things; <c>--Section:Key value</c> sets any other key.
/// </summary>
internal sealed class CommandLine
{
    /// <summary>The usage text printed by --help.</summary>
    public const string Usage = """
        Usage: ServingGateway [--role standalone|node|edge] [--models DIR] [--urls URLS] [--grpc-urls URLS]
                              [--redis HOST:PORT] [--node URL ...] [--nodes-dns NAME:PORT] [--config FILE] [--Section:Key VALUE ...]

        Serves ONNX models over the Open Inference Protocol (KServe V2), REST and gRPC.

          --role ROLE      standalone (default): edge pipeline and inference node in one process
                           node: inference node only; edge: API keys, rate limits and consistent-hash
                           routing in front of nodes
                           config key: Role
          --models DIR     model repository, Triton's layout DIR/<name>/<version>/model.onnx
                           (default ./models); config key: Inference:ModelRepository
          --urls URLS      where to listen, ';'-separated (default http://127.0.0.1:8000); config key: Urls
          --grpc-urls URLS where the gRPC service listens (HTTP/2; https:// for TLS), ';'-separated, or
                           none; default http://127.0.0.1:8001, but none when --urls is given without it
                           (so two servers never race for one port); config key: GrpcUrls
          --redis HOST:PORT  Redis shared by all nodes and edges: the prediction cache's second tier and
                           the edges' rate limits (default none: in process only); config key: Redis
          --node URL       edge: a node to forward to, repeatable; config key: Edge:Nodes
          --nodes-dns NAME:PORT  edge: the nodes are the addresses NAME resolves to (a headless Service),
                           resolved again every Edge:DnsRefreshSeconds; config key: Edge:NodesDns
          --config FILE    a JSON configuration file, read after appsettings.json and before
                           environment variables and switches; reloaded when it changes (keys, limits),
                           through the start-up checks: an invalid file is refused, the last good stays
          --Section:Key V  any configuration key, e.g. --Inference:MaxRequestBodyBytes 1048576
          -h, --help       this text

        Configuration keys (docs/CONFIGURATION.md has them all):
          Inference:MaxRequestBodyBytes     largest request body, bytes (default 67108864 = 64 MiB)
          Inference:DefaultInstances        sessions per model version without config.json (default 2)
          Inference:DefaultIntraOpThreads   ONNX Runtime intra-op threads per session (default 1)
          Inference:DefaultExecutionProvider auto | cpu | cuda (default auto)
          Inference:DefaultMaxBatchSize     max_batch_size of batchable models without one (default 4)
          Cache:MemoryMb                    in-process prediction cache size, MiB of outputs (default 256)
          Cache:RedisReadBudgetMs           a Redis lookup slower than this is a miss (default 2)
          Cache:RedisSecret                 signs and keys Redis cache entries; required off loopback
          Edge:NodeCaFile                   edge: PEM CA that signed the nodes' https certificates
          Edge:NodeGrpcPort                 edge: the port of the nodes' gRPC listeners (default 8001)
          Kestrel:Certificates:Default:Path (+ Password, or KeyPath)   certificate for https:// URLs
          Auth:Keys, Auth:AllowAnonymous    API keys (SHA-256 hashes) and roles; see docs/SECURITY.md
          Auth:MetricsRole                  role /metrics needs (default public on loopback, admin otherwise)
          Node:Keys, Edge:NodeKey           node keys (SHA-256 hashes) and the key edges send them
          Audit:Path, Audit:MaxBytes        audit log file (default beside the models) and its rotation size
          RateLimits:Default, RateLimits:Models:NAME   token buckets {"Rate": per second, "Burst": n}
        """;

    private static readonly Dictionary<string, string> Switches = new(StringComparer.Ordinal)
    {
        ["--role"] = "Role",
        ["--models"] = "Inference:ModelRepository",
        ["--urls"] = "Urls",
        ["--grpc-urls"] = "GrpcUrls",
        ["--redis"] = "Redis",
        ["--nodes-dns"] = "Edge:NodesDns",
    };

    private CommandLine(bool help, string? configFile, string[] configurationArgs, List<string> errors)
    {
        Help = help;
        ConfigFile = configFile;
        ConfigurationArgs = configurationArgs;
        Errors = errors;
    }

    /// <summary>True when --help was asked for.</summary>
    public bool Help { get; }

    /// <summary>The --config file, or null.</summary>
    public string? ConfigFile { get; }

    /// <summary>The arguments as configuration key/value pairs (<c>--Key=value</c>).</summary>
    public string[] ConfigurationArgs { get; }

    /// <summary>What is wrong with the arguments; empty when nothing is.</summary>
    public List<string> Errors { get; }

    /// <summary>Parses <paramref name="args"/>; never throws, errors are listed in <see cref="Errors"/>.</summary>
    public static CommandLine Parse(string[] args)
    {
        var errors = new List<string>();
        var configuration = new List<string>();
        string? configFile = null;
        var help = false;
        var nodes = 0;
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            if (arg is "-h" or "--help" or "-?")
            {
                help = true;
                continue;
            }

            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                errors.Add($"unexpected argument '{arg}'; switches start with -- (see --help)");
                continue;
            }

            var equals = arg.IndexOf('=', StringComparison.Ordinal);
            var name = equals > 0 ? arg[..equals] : arg;
            string? value = equals > 0 ? arg[(equals + 1)..] : null;
            if (value is null)
            {
                if (i + 1 >= args.Length || args[i + 1].StartsWith("--", StringComparison.Ordinal))
                {
                    errors.Add($"{name} needs a value");
                    continue;
                }

                value = args[++i];
            }

            if (name == "--config")
            {
                configFile = value;
            }
            else if (name == "--node")
            {
                configuration.Add($"--Edge:Nodes:{nodes++}={value}");
            }
            else if (Switches.TryGetValue(name, out var key))
            {
                configuration.Add($"--{key}={value}");
            }
            else if (name.Contains(':', StringComparison.Ordinal))
            {
                configuration.Add($"{name}={value}");
            }
            else
            {
                errors.Add($"unknown switch {name} (see --help)");
            }
        }

        return new CommandLine(help, configFile, [.. configuration], errors);
    }
}
