using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using ServingGateway.Auth;
using ServingGateway.Edge;

namespace ServingGateway.Gateway.Tests.Auth;

public sealed class AuditLogTests : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"sg-audit-unit-{Guid.NewGuid():N}.log");
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 30, 9, 0, 0, TimeSpan.Zero));

    public void Dispose()
    {
        File.Delete(_path);
        File.Delete(_path + ".1");
    }

    private AuditLog Create(long maxBytes = 1 << 20)
    {
        var services = new ServiceCollection().AddSingleton<EdgeMetrics>().BuildServiceProvider();
        return new AuditLog(Options.Create(new AuditOptions { Path = _path, MaxBytes = maxBytes }), _time, new AuthMetrics(services), NullLogger<AuditLog>.Instance);
    }

    [Fact]
    public async Task RefusedAndServed_OneLineEach_RoutePatternNotPath()
    {
        using (var audit = Create())
        {
            audit.Refused(RoutedContext.Create("POST", "/V2/Repository/models/mlp/unload", "/v2/repository/models/{model}/unload", "mlp"), 401, "anonymous", GatewayRoles.Deploy);
            _time.Advance(TimeSpan.FromSeconds(1.5));
            var served = RoutedContext.Create("POST", "/v2/repository/index", "/v2/repository/index", null);
            await audit.ServeAsync(served, c => { c.Response.StatusCode = 200; return Task.CompletedTask; }, "ci", GatewayRoles.Deploy);
        }

        Assert.Equal(
        [
            """{"time":"2026-11-30T09:00:00.0000000Z","caller":"anonymous","role":"deploy","method":"POST","route":"/v2/repository/models/{model}/unload","model":"mlp","status":401,"outcome":"unauthenticated"}""",
            """{"time":"2026-11-30T09:00:01.5000000Z","caller":"ci","role":"deploy","method":"POST","route":"/v2/repository/index","model":null,"status":200,"outcome":"served"}""",
        ], File.ReadAllLines(_path));
    }

    [Fact]
    public void Append_PastMaxBytes_RotatesOnceKeepingEveryFileUnderTheLimit()
    {
        using (var audit = Create(maxBytes: 4096))
        {
            for (var i = 0; i < 40; i++)
            {
                audit.Refused(RoutedContext.Create("GET", "/v2/models/mlp", "/v2/models/{model}", "mlp"), 403, "ci", GatewayRoles.Infer);
            }
        }

        var current = new FileInfo(_path);
        var rotated = new FileInfo(_path + ".1");
        Assert.InRange(current.Length, 1, 4096);
        Assert.InRange(rotated.Length, 3000, 4096);
        Assert.All(File.ReadAllLines(rotated.FullName).Concat(File.ReadAllLines(current.FullName)), line => Assert.Contains("\"outcome\":\"forbidden\"", line, StringComparison.Ordinal));
    }
}
