using ServingGateway.LoadTool.Cli;
using ServingGateway.LoadTool.Payloads;
using ServingGateway.LoadTool.Search;

namespace ServingGateway.LoadTool.Tests.Cli;

public sealed class OptionParserTests
{
    [Fact]
    public void Parse_RunSwitches_SetEveryOption()
    {
        var errors = new List<string>();

        var options = OptionParser.Parse(
            ["--url", "http://127.0.0.1:8000", "--model", "mlp", "--open-rate", "2000", "--duration=20s", "--warmup", "500ms",
             "--binary", "--dim", "input=4", "--payload", "file:req.json", "--max-p99-ms", "25", "--max-error-rate", "1%", "--min-rate", "1900"],
            CommandKind.Run, errors);

        Assert.Empty(errors);
        Assert.Empty(options.Validate(CommandKind.Run));
        Assert.Equal(LoadShape.Open(2000), options.Load);
        Assert.Equal(TimeSpan.FromSeconds(20), options.Duration);
        Assert.Equal(TimeSpan.FromMilliseconds(500), options.Warmup);
        Assert.True(options.Binary);
        Assert.Equal([4L], options.Dims["input"]);
        Assert.Equal(new PayloadSource(PayloadKind.File, "req.json"), options.Payload);
        Assert.Equal(25, options.Thresholds.MaxP99Ms);
        Assert.Equal(0.01, options.Thresholds.MaxErrorRate);
        Assert.Equal(1900, options.Thresholds.MinRate);
    }

    [Fact]
    public void Parse_BadArguments_ListsEveryProblem()
    {
        var errors = new List<string>();

        var options = OptionParser.Parse(["--url", "ftp://x", "--duration", "soon", "--frobnicate", "--slo-p99", "5", "--closed"], CommandKind.Run, errors);
        errors.AddRange(options.Validate(CommandKind.Run));

        Assert.Contains(errors, e => e.StartsWith("--url:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("--duration:", StringComparison.Ordinal));
        Assert.Contains("unknown switch '--frobnicate'", errors);
        Assert.Contains("--slo-p99 does not apply to this command", errors);
        Assert.Contains("--closed needs a value (N)", errors);
        Assert.Contains(errors, e => e.StartsWith("--model is required", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("choose a load model", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("2", "2", null)]
    [InlineData("02", null, "--expect-version: '02' is not a model version (a number such as 2)")]
    [InlineData("v2", null, "--expect-version: 'v2' is not a model version (a number such as 2)")]
    public void Parse_ExpectVersion_AVersionNumberOnly(string value, string? expected, string? error)
    {
        var errors = new List<string>();

        var options = OptionParser.Parse(["--expect-version", value], CommandKind.Run, errors);

        Assert.Equal(expected, options.ExpectVersion);
        Assert.Equal(error is null ? [] : [error], errors);
    }

    [Fact]
    public void Parse_Protocol_GrpcWhenAskedHttpByDefault()
    {
        var errors = new List<string>();
        string[] args = ["--url", "http://127.0.0.1:8001", "--model", "mlp", "--closed", "16", "--connections", "4"];

        var plain = OptionParser.Parse(args, CommandKind.Run, errors);
        var grpc = OptionParser.Parse([.. args, "--protocol", "grpc"], CommandKind.Run, errors);
        var search = OptionParser.Parse(["--protocol=grpc", "--url", "http://127.0.0.1:8001", "--model", "mlp", "--slo-p99", "5"], CommandKind.FindMaxRate, errors);

        Assert.Empty(errors);
        Assert.Equal(LoadProtocol.Http, plain.Protocol);
        Assert.Equal(LoadProtocol.Grpc, grpc.Protocol);
        Assert.Equal(4, grpc.Connections);
        Assert.Equal(LoadProtocol.Grpc, search.Protocol);
    }

    [Fact]
    public void Parse_UnknownProtocol_IsListedWithTheOtherProblems()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, """{"url":"http://x","protocol":"grpc","models":[{"model":"m"}]}""");
            var errors = new List<string>();

            var fromScenario = OptionParser.Parse(["--scenario", path], CommandKind.Run, errors);
            OptionParser.Parse(["--protocol", "h2", "--duration", "soon"], CommandKind.Run, errors);

            Assert.Equal(LoadProtocol.Grpc, fromScenario.Protocol);
            Assert.Equal(["--protocol: 'h2' is not a protocol (http or grpc)", "--duration: 'soon' is not a duration (e.g. 500ms, 30s, 2m, 1h)"], errors);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Parse_Scenario_MixesModelsAndSwitchesWin()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, """
                {
                  // comments are allowed
                  "url": "http://127.0.0.1:9000", "ramp": "10:100", "duration": "1m", "maxP99Ms": 50, "binary": true,
                  "models": [
                    { "model": "mlp", "weight": 3, "dims": { "input": "8" } },
                    { "model": "minilm", "weight": 1, "payload": "recorded:rec.jsonl", "binary": false }
                  ]
                }
                """);
            var errors = new List<string>();

            var options = OptionParser.Parse(["--scenario", path, "--duration", "10s", "--dim", "*=1,16"], CommandKind.Run, errors);
            var targets = options.ResolveTargets();

            Assert.Empty(errors);
            Assert.Equal(new Uri("http://127.0.0.1:9000"), options.Url);
            Assert.Equal(LoadShape.Ramp(10, 100), options.Load);
            Assert.Equal(TimeSpan.FromSeconds(10), options.Duration);
            Assert.Equal(50, options.Thresholds.MaxP99Ms);
            Assert.Equal(["mlp", "minilm"], targets.Select(t => t.Model));
            Assert.Equal([3, 1], targets.Select(t => t.Weight));
            Assert.Equal([true, false], targets.Select(t => t.Binary!.Value));
            Assert.Equal([8L], targets[0].Dims["input"]);
            Assert.Equal([1L, 16L], targets[1].Dims["*"]);
            Assert.Equal(PayloadKind.Recorded, targets[1].Payload!.Kind);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Parse_ScenarioUnknownKey_IsAnError()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, """{"url":"http://x","rps":5,"models":[{"model":"m","colour":"red"}]}""");
            var errors = new List<string>();

            OptionParser.Parse(["--scenario", path], CommandKind.Run, errors);

            Assert.Contains(errors, e => e.Contains("\"rps\" is not a scenario key", StringComparison.Ordinal));
            Assert.Contains(errors, e => e.Contains("colour", StringComparison.Ordinal));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Parse_FindMaxRate_NeedsTheSlo()
    {
        var errors = new List<string>();

        var options = OptionParser.Parse(["--url", "http://127.0.0.1:8000", "--model", "mlp", "--start-rate", "100"], CommandKind.FindMaxRate, errors);

        Assert.Empty(errors);
        Assert.Equal(["--slo-p99 MS is required"], options.Validate(CommandKind.FindMaxRate));
        Assert.Equal(100, options.StartRate);
    }

    [Fact]
    public void Parse_FindMaxRateByGoodput_NeedsTheSloOfAnAnswerNotTheP99()
    {
        var errors = new List<string>();

        var options = OptionParser.Parse(["--url", "http://127.0.0.1:8000", "--model", "mlp", "--criterion", "goodput"], CommandKind.FindMaxRate, errors);

        Assert.Empty(errors);
        Assert.Equal(SearchCriterion.Goodput, options.Criterion);
        Assert.Equal(["--criterion goodput needs --slo MS (the latency an answer must keep)"], options.Validate(CommandKind.FindMaxRate));

        var withSlo = OptionParser.Parse(["--url", "http://127.0.0.1:8000", "--model", "mlp", "--criterion", "goodput", "--slo", "50"], CommandKind.FindMaxRate, errors);
        Assert.Empty(errors);
        Assert.Equal(50, withSlo.SloMs);
        Assert.Empty(withSlo.Validate(CommandKind.FindMaxRate));
    }

    [Fact]
    public void Parse_SloOnARunAndAnUnknownCriterion_SloKeptCriterionRefused()
    {
        var errors = new List<string>();

        var run = OptionParser.Parse(["--url", "http://127.0.0.1:8000", "--model", "mlp", "--open-rate", "10", "--slo", "25.5"], CommandKind.Run, errors);
        Assert.Empty(errors);
        Assert.Equal(25.5, run.SloMs);

        OptionParser.Parse(["--url", "http://127.0.0.1:8000", "--model", "mlp", "--criterion", "fast", "--slo", "0"], CommandKind.FindMaxRate, errors);
        Assert.Equal(2, errors.Count);
        Assert.Contains(errors, e => e.Contains("'fast' is not a criterion (p99 or goodput)", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("'0' is not a number above 0", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("30s", 30_000)]
    [InlineData("500ms", 500)]
    [InlineData("2m", 120_000)]
    [InlineData("1h", 3_600_000)]
    [InlineData("1.5", 1_500)]
    public void Duration_Units_AreUnderstood(string text, double expectedMs)
    {
        Assert.Equal(expectedMs, ValueParsers.Duration(text).TotalMilliseconds, 6);
    }

    [Theory]
    [InlineData("0.01", 0.01)]
    [InlineData("1%", 0.01)]
    [InlineData("100%", 1)]
    public void Fraction_DecimalOrPercent_IsAFraction(string text, double expected)
    {
        Assert.Equal(expected, ValueParsers.Fraction(text), 9);
    }

    [Fact]
    public void Fraction_AboveOne_Throws()
    {
        Assert.Throws<FormatException>(() => ValueParsers.Fraction("5"));
    }

    [Fact]
    public void CommandLine_ApiKey_IsHidden()
    {
        Assert.Equal("run --url u --api-key *** --api-key=***", ConsoleOutput.CommandLine("run", ["--url", "u", "--api-key", "secret", "--api-key=secret"]));
        Assert.Equal("run --api-key env:KEY", ConsoleOutput.CommandLine("run", ["--api-key", "env:KEY"]));
    }
}
