using Microsoft.Extensions.Options;

namespace ServingGateway.Hosting;

/// <summary>
/// The one way options that reload with the configuration are wired: bound from their section, checked by
/// their own rules (the same function the start-up check lists errors from) as an
/// <see cref="IValidateOptions{TOptions}"/>, and read through a <see cref="LastGoodOptionsMonitor{TOptions}"/>,
/// so an invalid reload is refused and the last good options stay in force.
/// </summary>
internal static class ReloadableOptions
{
    /// <summary>
    /// Binds <typeparamref name="TOptions"/> to <paramref name="section"/>, validated by <paramref name="validate"/>
    /// (every error it lists), with a last-good <see cref="IOptionsMonitor{TOptions}"/>.
    /// </summary>
    public static IServiceCollection Add<TOptions>(IServiceCollection services, IConfiguration configuration, string section, Func<TOptions, IEnumerable<string>> validate)
        where TOptions : class
    {
        services.Configure<TOptions>(configuration.GetSection(section));
        services.AddSingleton<IValidateOptions<TOptions>>(new Validator<TOptions>(validate));
        services.AddSingleton(new Section<TOptions>(section));
        services.AddSingleton<IOptionsMonitor<TOptions>, LastGoodOptionsMonitor<TOptions>>();
        return services;
    }

    /// <summary>The configuration section a reloadable option type binds from (the label of its reloads).</summary>
    internal sealed record Section<TOptions>(string Name);

    private sealed class Validator<TOptions>(Func<TOptions, IEnumerable<string>> validate) : IValidateOptions<TOptions>
        where TOptions : class
    {
        public ValidateOptionsResult Validate(string? name, TOptions options)
        {
            var errors = validate(options).ToList();
            return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
        }
    }
}
