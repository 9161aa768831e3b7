// The baseline of the edge benchmark: YARP with default settings forwarding everything to one node.
// Usage: dotnet BareYarp.dll --urls http://127.0.0.1:PORT --node http://127.0.0.1:NODEPORT
using Yarp.ReverseProxy.Configuration;

var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.WebHost.ConfigureKestrel(k => k.AddServerHeader = false);
var node = builder.Configuration["node"] ?? throw new InvalidOperationException("--node URL is required");
builder.Services.AddReverseProxy().LoadFromMemory(
    [new RouteConfig { RouteId = "all", ClusterId = "node", Match = new RouteMatch { Path = "/{**rest}" } }],
    [new ClusterConfig { ClusterId = "node", Destinations = new Dictionary<string, DestinationConfig> { ["node"] = new() { Address = node } } }]);

var app = builder.Build();
app.MapReverseProxy();
app.Run();
