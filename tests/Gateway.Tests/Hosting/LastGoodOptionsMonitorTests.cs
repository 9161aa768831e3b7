using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using ServingGateway.Hosting;
using ServingGateway.RateLimiting;

namespace ServingGateway.Gateway.Tests.Hosting;

public sealed class LastGoodOptionsMonitorTests : IDisposable
{
    private readonly IConfigurationRoot _configuration = new ConfigurationBuilder()
        .AddInMemoryCollection(new Dictionary<string, string?> { ["RateLimits:Default:Rate"] = "5", ["RateLimits:Default:Burst"] = "10" })
        .Build();

    private readonly ConfigReloads _reloads = new();
    private readonly ServiceProvider _services;

    public LastGoodOptionsMonitorTests()
    {
        var services = new ServiceCollection();
        services.AddSingleton(_reloads);
        ReloadableOptions.Add<RateLimitOptions>(services, _configuration, RateLimitOptions.SectionName, o => o.Validate());
        _services = services.BuildServiceProvider();
        _reloads.Attach(NullLogger.Instance, Prometheus.Metrics.NewCustomRegistry());
    }

    public void Dispose() => _services.Dispose();

    private IOptionsMonitor<RateLimitOptions> Monitor => _services.GetRequiredService<IOptionsMonitor<RateLimitOptions>>();

    private void Change(string key, string? value)
    {
        _configuration[key] = value;
        _configuration.Reload();
    }

    [Fact]
    public void Reload_Valid_AppliedAndListenersTold()
    {
        var monitor = Monitor;
        var told = new List<double>();
        using var subscription = monitor.OnChange((o, _) => told.Add(o.Default!.Rate));

        Change("RateLimits:Default:Rate", "7");

        Assert.Equal(7, monitor.CurrentValue.Default!.Rate);
        Assert.Equal([7d], told);
        Assert.Equal(0, _reloads.Refusals);
    }

    [Theory]
    [InlineData("RateLimits:Default:Rate", "0")]
    [InlineData("RateLimits:Default:Burst", "0")]
    [InlineData("RateLimits:Default:Rate", "fast")]
    public void Reload_Invalid_RefusedAndTheLastGoodStays(string key, string value)
    {
        var monitor = Monitor;
        var told = 0;
        using var subscription = monitor.OnChange((_, _) => told++);

        Change(key, value);

        Assert.Equal(5, monitor.CurrentValue.Default!.Rate);
        Assert.Equal(10, monitor.CurrentValue.Default!.Burst);
        Assert.Equal(0, told);
        Assert.Equal(1, _reloads.Refusals);
    }

    [Fact]
    public void Reload_InvalidThenValid_AppliesTheValidOne()
    {
        var monitor = Monitor;
        Change("RateLimits:Default:Burst", "0");

        Change("RateLimits:Default:Burst", "20");

        Assert.Equal(20, monitor.CurrentValue.Default!.Burst);
        Assert.Equal(1, _reloads.Refusals);
    }

    [Fact]
    public void Resolve_InvalidAtStart_Throws()
    {
        _configuration["RateLimits:Default:Rate"] = "0";

        Assert.Throws<OptionsValidationException>(() => Monitor);
    }
}
