using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using ServingGateway.Inference.Metrics;
using ServingGateway.Inference.Repository;
using ServingGateway.Inference.Residency;
using ServingGateway.Inference.Runtime;

namespace ServingGateway.Inference.Tests.Repository;

/// <summary>A model repository over a folder, wired as the host wires it (hosts from a <see cref="ModelHostFactory"/>).</summary>
internal static class Repositories
{
    public static ModelRepository Create(string path, NodeMetrics metrics, TimeProvider time, ILogger<ModelRepository>? logger = null) =>
        Create(new InferenceOptions { ModelRepository = path }, metrics, time, logger);

    public static ModelRepository Create(InferenceOptions settings, NodeMetrics metrics, TimeProvider time, ILogger<ModelRepository>? logger = null)
    {
        var options = Options.Create(settings);
        var hosts = new ModelHostFactory(options, new OnnxSessionFactory(NullLogger<OnnxSessionFactory>.Instance), metrics, time, NullLogger<ModelHostFactory>.Instance);
        var residency = new ModelResidency(options, metrics, time, NullLogger<ModelResidency>.Instance);
        return new ModelRepository(options, hosts, residency, logger ?? NullLogger<ModelRepository>.Instance);
    }
}
