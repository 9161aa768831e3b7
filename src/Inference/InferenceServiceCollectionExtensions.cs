using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using ServingGateway.Inference.Caching;
using ServingGateway.Inference.Http;
using ServingGateway.Inference.Metrics;
using ServingGateway.Inference.Repository;
using ServingGateway.Inference.Residency;
using ServingGateway.Inference.Runtime;
using ServingGateway.Inference.Serving;

namespace ServingGateway.Inference;

/// <summary>Wires the inference node into a host.</summary>
public static class InferenceServiceCollectionExtensions
{
    /// <summary>
    /// Adds the model repository, ONNX Runtime sessions and node metrics, with <see cref="InferenceOptions"/>
    /// bound from the <c>Inference</c> section and validated at start-up.
    /// </summary>
    public static IServiceCollection AddInferenceNode(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<InferenceOptions>()
            .Bind(configuration.GetSection(InferenceOptions.SectionName))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<InferenceOptions>, InferenceOptionsValidator>();
        services.AddOptions<CacheOptions>()
            .Bind(configuration.GetSection(CacheOptions.SectionName))
            .PostConfigure(o => o.Redis = string.IsNullOrWhiteSpace(o.Redis) ? configuration["Redis"] : o.Redis)
            .Validate(o => !o.Validate().Any(), "invalid Cache settings")
            .ValidateOnStart();
        services.AddSingleton(sp => new RequestBodyBudget(sp.GetRequiredService<IOptions<InferenceOptions>>().Value.BufferedRequestBudgetBytes()));
        services.AddSingleton<PredictionCache>();
        services.AddSingleton<InferencePipeline>();
        services.AddSingleton<NodeMetrics>();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<OnnxSessionFactory>();
        services.AddSingleton<ModelHostFactory>();
        services.AddSingleton<ModelResidency>();
        services.AddSingleton<ModelRepository>();
        services.AddSingleton(sp => new NodeReadings(sp.GetRequiredService<ModelRepository>()));
        services.AddSingleton(sp => new ModelVersions(sp.GetRequiredService<ModelRepository>()));
        services.AddSingleton(sp => new VersionCatalog(
            sp.GetRequiredService<ModelRepository>(), sp.GetRequiredService<ModelHostFactory>(), sp.GetRequiredService<IOptions<InferenceOptions>>().Value));
        services.AddHostedService<RepositoryLoader>();
        services.AddSingleton<RequestPathWarmUp>();
        services.AddSingleton<Readiness>();
        services.AddHostedService(sp => sp.GetRequiredService<RequestPathWarmUp>());
        services.AddSingleton<ShutdownDrain>();
        services.AddHostedService(sp => sp.GetRequiredService<ShutdownDrain>());
        services.AddOptions<HostOptions>().Configure<IOptions<InferenceOptions>>(
            (host, inference) => host.ShutdownTimeout = TimeSpan.FromSeconds(inference.Value.ShutdownDrainSeconds));
        return services;
    }

    /// <summary>
    /// Lets a stopping node drain (see Inference:ShutdownDrainSeconds): records the requests it receives, so that
    /// it stops listening only once the edges have stopped sending.
    /// </summary>
    public static IApplicationBuilder UseShutdownDrain(this IApplicationBuilder app)
    {
        var drain = app.ApplicationServices.GetRequiredService<ShutdownDrain>();
        return app.Use(next => context => drain.TrackAsync(context, next));
    }

    /// <summary>Turns every error response, including ASP.NET's empty ones, into <c>{"error": "..."}</c>.</summary>
    public static IApplicationBuilder UseJsonErrors(this IApplicationBuilder app) => app.UseMiddleware<JsonErrorMiddleware>();

    private sealed class InferenceOptionsValidator : IValidateOptions<InferenceOptions>
    {
        public ValidateOptionsResult Validate(string? name, InferenceOptions options)
        {
            var errors = options.Validate().ToList();
            return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
        }
    }
}
