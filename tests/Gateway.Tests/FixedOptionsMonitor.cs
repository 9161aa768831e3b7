using Microsoft.Extensions.Options;

namespace ServingGateway.Gateway.Tests;

/// <summary>Options that never change, for components that read an <see cref="IOptionsMonitor{TOptions}"/>.</summary>
internal sealed class FixedOptionsMonitor<T>(T value) : IOptionsMonitor<T>
{
    public T CurrentValue => value;

    public T Get(string? name) => value;

    public IDisposable? OnChange(Action<T, string?> listener) => null;
}
