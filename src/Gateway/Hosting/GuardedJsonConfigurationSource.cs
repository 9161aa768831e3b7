namespace ServingGateway.Hosting;

/// <summary>The <c>--config</c> file: JSON, watched, and never half-read (see <see cref="GuardedJsonConfigurationProvider"/>).</summary>
internal sealed class GuardedJsonConfigurationSource(string path, ConfigReloads reloads) : IConfigurationSource
{
    public IConfigurationProvider Build(IConfigurationBuilder builder) => new GuardedJsonConfigurationProvider(path, reloads);
}
