using System.Text;
using ServingGateway.Deployments;
using ServingGateway.Deployments.Rollouts;

namespace ServingGateway.Gateway.Tests.Deployments.Rollouts;

public sealed class RolloutRequestTests
{
    private static RolloutSpec Parse(string json) => RolloutRequest.Parse(Encoding.UTF8.GetBytes(json));

    private static string Refused(string json)
    {
        var ex = Assert.Throws<DeploymentException>(() => Parse(json));
        Assert.Equal(400, ex.StatusCode);
        return ex.Message;
    }

    [Fact]
    public void Parse_FullCanary_EveryField()
    {
        var spec = Parse("""
            {"version": 3, "strategy": "canary", "steps": [10, 50, 100], "step_seconds": 15, "sample_ratio": 0.5,
             "analysis": {"max_error_rate": 0.01, "max_p99_ms": 250, "max_p99_ratio": 1.5, "min_requests": 20, "max_output_divergence": 0.001}}
            """);

        Assert.Equal(3, spec.Version);
        Assert.Equal(RolloutStrategy.Canary, spec.Strategy);
        Assert.Equal([10, 50, 100], spec.Steps);
        Assert.Equal(15, spec.StepSeconds);
        Assert.Equal(0.5, spec.SampleRatio);
        Assert.Equal(new RolloutAnalysis(0.01, 250, 1.5, 20, 0.001), spec.Analysis);
        Assert.True(spec.Shadowed);
    }

    [Fact]
    public void Parse_Minimal_Defaults()
    {
        var canary = Parse("""{"version": 2, "strategy": "canary"}""");
        var blueGreen = Parse("""{"version": 2, "strategy": "blue-green"}""");

        Assert.Equal(RolloutRequest.DefaultSteps, canary.Steps);
        Assert.Equal(RolloutRequest.DefaultStepSeconds, canary.StepSeconds);
        Assert.Equal(new RolloutAnalysis(null, null, null, 1, null), canary.Analysis);
        Assert.False(canary.Shadowed);
        Assert.Equal(RolloutRequest.DefaultSampleRatio, blueGreen.SampleRatio);
        Assert.True(blueGreen.Shadowed);
    }

    [Theory]
    [InlineData("""{"version": 2, "strategy": "linear"}""", "\"strategy\" must be")]
    [InlineData("""{"strategy": "canary"}""", "\"version\" must be")]
    [InlineData("""{"version": -1, "strategy": "canary"}""", "\"version\" must be")]
    [InlineData("""{"version": "2", "strategy": "canary"}""", "\"version\" must be")]
    [InlineData("""{"version": 2, "strategy": "canary", "steps": [5, 5, 100]}""", "does not increase")]
    [InlineData("""{"version": 2, "strategy": "canary", "steps": [50, 25, 100]}""", "does not increase")]
    [InlineData("""{"version": 2, "strategy": "canary", "steps": [5, 25, 50]}""", "ends at 50")]
    [InlineData("""{"version": 2, "strategy": "canary", "steps": [0, 100]}""", "0 is not one")]
    [InlineData("""{"version": 2, "strategy": "canary", "steps": [5, 101]}""", "101 is not one")]
    [InlineData("""{"version": 2, "strategy": "canary", "steps": []}""", "1 to 20")]
    [InlineData("""{"version": 2, "strategy": "blue-green", "steps": [100]}""", "apply to a canary")]
    [InlineData("""{"version": 2, "strategy": "canary", "step_seconds": 0}""", "\"step_seconds\" must be")]
    [InlineData("""{"version": 2, "strategy": "canary", "sample_ratio": 1.5}""", "\"sample_ratio\" must be")]
    [InlineData("""{"version": 2, "strategy": "canary", "sample_ratio": 0}""", "\"sample_ratio\" must be")]
    [InlineData("""{"version": 2, "strategy": "canary", "analysis": {"max_error_rate": 2}}""", "\"analysis.max_error_rate\" must be")]
    [InlineData("""{"version": 2, "strategy": "canary", "analysis": {"max_p99_ratio": -1}}""", "\"analysis.max_p99_ratio\" must be")]
    [InlineData("""{"version": 2, "strategy": "canary", "analysis": {"min_requests": 1.5}}""", "\"analysis.min_requests\" must be")]
    [InlineData("""{"version": 2, "strategy": "canary", "analysis": {"max_p99": 5}}""", "unknown field \"analysis.max_p99\"")]
    [InlineData("""{"version": 2, "strategy": "canary", "analysis": 5}""", "\"analysis\" must be an object")]
    [InlineData("""{"version": 2, "strategy": "canary", "stepseconds": 5}""", "unknown field \"stepseconds\"")]
    [InlineData("""[1]""", "must be a JSON object")]
    [InlineData("""{"version": 2,""", "malformed JSON")]
    public void Parse_Invalid_400WithTheReason(string json, string expected)
    {
        Assert.Contains(expected, Refused(json), StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_SeveralErrors_ListsEveryOne()
    {
        var message = Refused("""{"version": "x", "strategy": "linear", "step_seconds": -4, "analysis": {"max_error_rate": 7}}""");

        Assert.Contains("\"version\"", message, StringComparison.Ordinal);
        Assert.Contains("\"strategy\"", message, StringComparison.Ordinal);
        Assert.Contains("\"step_seconds\"", message, StringComparison.Ordinal);
        Assert.Contains("\"analysis.max_error_rate\"", message, StringComparison.Ordinal);
    }
}
