using ServingGateway.Hosting;

namespace ServingGateway.Gateway.Tests.Hosting;

public class CommandLineTests
{
    [Fact]
    public void Parse_NoArguments_NoErrorsNoConfiguration()
    {
        var commandLine = CommandLine.Parse([]);

        Assert.Empty(commandLine.Errors);
        Assert.Empty(commandLine.ConfigurationArgs);
        Assert.False(commandLine.Help);
        Assert.Null(commandLine.ConfigFile);
    }

    [Fact]
    public void Parse_Switches_MapToConfigurationKeys()
    {
        var commandLine = CommandLine.Parse(["--role", "node", "--models=/srv/models", "--urls", "http://127.0.0.1:9000", "--config", "a.json"]);

        Assert.Empty(commandLine.Errors);
        Assert.Equal(["--Role=node", "--Inference:ModelRepository=/srv/models", "--Urls=http://127.0.0.1:9000"], commandLine.ConfigurationArgs);
        Assert.Equal("a.json", commandLine.ConfigFile);
    }

    [Fact]
    public void Parse_NodesAndDns_MapToEdgeKeys()
    {
        var commandLine = CommandLine.Parse(["--role", "edge", "--node", "http://10.0.0.1:8000", "--node=http://10.0.0.2:8000", "--nodes-dns", "nodes.ns.svc:8000", "--redis", "r:6379"]);

        Assert.Empty(commandLine.Errors);
        Assert.Equal(
            ["--Role=edge", "--Edge:Nodes:0=http://10.0.0.1:8000", "--Edge:Nodes:1=http://10.0.0.2:8000", "--Edge:NodesDns=nodes.ns.svc:8000", "--Redis=r:6379"],
            commandLine.ConfigurationArgs);
    }

    [Fact]
    public void Parse_SectionKey_PassesThrough()
    {
        var commandLine = CommandLine.Parse(["--Inference:MaxRequestBodyBytes", "2048", "--Logging:LogLevel:Default=Debug"]);

        Assert.Empty(commandLine.Errors);
        Assert.Equal(["--Inference:MaxRequestBodyBytes=2048", "--Logging:LogLevel:Default=Debug"], commandLine.ConfigurationArgs);
    }

    [Theory]
    [InlineData("-h")]
    [InlineData("--help")]
    [InlineData("-?")]
    public void Parse_Help_IsRecognised(string arg)
    {
        Assert.True(CommandLine.Parse([arg]).Help);
    }

    [Fact]
    public void Parse_SeveralMistakes_ListsThemAll()
    {
        var commandLine = CommandLine.Parse(["serve", "--bogus", "1", "--role", "--models"]);

        Assert.Equal(
            ["unexpected argument 'serve'; switches start with -- (see --help)", "unknown switch --bogus (see --help)", "--role needs a value", "--models needs a value"],
            commandLine.Errors);
    }

    [Fact]
    public void Usage_NamesEverySwitch()
    {
        foreach (var name in new[] { "--role", "--models", "--urls", "--config", "--help" })
        {
            Assert.Contains(name, CommandLine.Usage, StringComparison.Ordinal);
        }
    }
}
