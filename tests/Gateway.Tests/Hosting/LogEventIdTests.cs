using System.Reflection;
using Microsoft.Extensions.Logging;

namespace ServingGateway.Gateway.Tests.Hosting;

/// <summary>
/// Log event ids are unique per assembly (STYLE.md): two messages sharing an id cannot be told apart by a
/// log query or an alert. Parallel work once gave two pairs of messages the same ids.
/// </summary>
public sealed class LogEventIdTests
{
    public static TheoryData<string> Assemblies() => new() { "ServingGateway", "ServingGateway.Inference" };

    [Theory]
    [MemberData(nameof(Assemblies))]
    public void LoggerMessages_InOneAssembly_HaveDistinctEventIds(string assemblyName)
    {
        var assembly = Assembly.Load(assemblyName);
        var ids = assembly.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            .Select(m => (Method: m, Attribute: m.GetCustomAttribute<LoggerMessageAttribute>()))
            .Where(x => x.Attribute is not null)
            .Select(x => (x.Attribute!.EventId, Name: $"{x.Method.DeclaringType!.FullName}.{x.Method.Name}"))
            .ToList();

        var duplicates = ids.GroupBy(x => x.EventId).Where(g => g.Count() > 1)
            .Select(g => $"{g.Key}: {string.Join(", ", g.Select(x => x.Name))}")
            .ToList();

        Assert.NotEmpty(ids);
        Assert.True(duplicates.Count == 0, "event ids used twice: " + string.Join("; ", duplicates));
    }
}
