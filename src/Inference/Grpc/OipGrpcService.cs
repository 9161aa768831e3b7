using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Options;
using ServingGateway.Inference.Buffers;
using ServingGateway.Inference.Http;
using ServingGateway.Inference.Protocol;
using ServingGateway.Inference.Repository;
using ServingGateway.Inference.Serving;
using OpenInferenceProtocol;

namespace ServingGateway.Inference.Grpc;

/// <summary>
/// The Open Inference Protocol's <c>inference.GRPCInferenceService</c> with Triton's repository, statistics
/// and configuration extensions, in the same process and on the same objects as REST: inference goes
/// through the <see cref="InferencePipeline"/> (batcher, caches, statistics shared), readiness through
/// <see cref="Readiness"/>. The management answers are the REST endpoints' JSON read into the protocol's
/// messages (their field names are the JSON's), so both transports say the same thing from one writer.
/// Failures are thrown as <see cref="InferenceException"/> and become gRPC statuses in <see cref="GrpcErrorInterceptor"/>.
/// </summary>
internal sealed class OipGrpcService(
    InferencePipeline pipeline, ModelRepository repository, Readiness readiness, RequestBodyBudget budget, IOptions<InferenceOptions> options)
    : GRPCInferenceService.GRPCInferenceServiceBase
{
    private static readonly JsonParser Parser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(true));
    private readonly int _maxRank = options.Value.MaxRank;

    public override Task<ServerLiveResponse> ServerLive(ServerLiveRequest request, ServerCallContext context) =>
        Task.FromResult(new ServerLiveResponse { Live = true });

    public override Task<ServerReadyResponse> ServerReady(ServerReadyRequest request, ServerCallContext context) =>
        Task.FromResult(new ServerReadyResponse { Ready = readiness.ServerNotReady() is null });

    public override Task<ModelReadyResponse> ModelReady(ModelReadyRequest request, ServerCallContext context)
    {
        // The protocol answers a bool: an unknown model or a version that does not serve is "not ready".
        bool ready;
        try
        {
            readiness.Model(request.Name, Version(request.Version));
            ready = true;
        }
        catch (InferenceException)
        {
            ready = false;
        }

        return Task.FromResult(new ModelReadyResponse { Ready = ready });
    }

    public override Task<ServerMetadataResponse> ServerMetadata(ServerMetadataRequest request, ServerCallContext context) =>
        Task.FromResult(FromJson<ServerMetadataResponse>(MetadataEndpoints.WriteServerMetadata));

    public override async Task<ModelMetadataResponse> ModelMetadata(ModelMetadataRequest request, ServerCallContext context)
    {
        var versionText = Version(request.Version);
        var model = await repository.AcquireAsync(request.Name, versionText, context.CancellationToken);
        try
        {
            var versions = MetadataEndpoints.Versions(repository, model, versionText);
            return FromJson<ModelMetadataResponse>(w => MetadataEndpoints.WriteModelMetadata(w, model, versions));
        }
        finally
        {
            model.Release();
        }
    }

    public override async Task<ModelInferResponse> ModelInfer(ModelInferRequest request, ServerCallContext context)
    {
        // The message stays in memory until the answer: it is charged to the budget of request bodies REST's are
        // charged to (Inference:MaxBufferedRequestMb), so both together hold no more (503 UNAVAILABLE past it).
        var size = request.CalculateSize();
        budget.Charge(size);
        try
        {
            return await InferAsync(request, context);
        }
        finally
        {
            budget.Release(size);
        }
    }

    private async Task<ModelInferResponse> InferAsync(ModelInferRequest request, ServerCallContext context)
    {
        var http = context.GetHttpContext();
        var raw = GrpcRequestReader.WantsRaw(request);
        return await pipeline.InferAsync(
            request.ModelName,
            Version(request.ModelVersion),
            (model, started) =>
            {
                var decoded = GrpcRequestReader.Read(request, model.Signature, _maxRank);
                decoded.ReceivedAt = started;
                return decoded;
            },
            (model, decoded, outputs, outcome) =>
            {
                RouteModel.SetModelHeaders(http.Response, model.VersionText, model.Digest);
                http.Response.Headers["X-Cache"] = InferEndpoints.CacheHeader(outcome);
                return GrpcResponseWriter.Write(model.ModelName, model.VersionText, decoded.Id, outputs, raw);
            },
            context.CancellationToken);
    }

    public override async Task<ModelConfigResponse> ModelConfig(ModelConfigRequest request, ServerCallContext context)
    {
        var model = await repository.AcquireAsync(request.Name, Version(request.Version), context.CancellationToken);
        try
        {
            return new ModelConfigResponse { Config = FromJson<ModelConfig>(w => ModelConfigEndpoints.Write(w, model)) };
        }
        finally
        {
            model.Release();
        }
    }

    public override async Task<ModelStatisticsResponse> ModelStatistics(ModelStatisticsRequest request, ServerCallContext context)
    {
        var name = request.Name.Length > 0 ? request.Name : null;
        if (name is null && request.Version.Length > 0)
        {
            throw InferenceException.BadRequest("a version needs a model name");
        }

        var versions = await StatisticsEndpoints.AcquireAsync(repository, name, Version(request.Version), context.CancellationToken);
        try
        {
            return FromJson<ModelStatisticsResponse>(w => StatisticsWriter.Write(w, versions));
        }
        finally
        {
            StatisticsEndpoints.Release(versions);
        }
    }

    public override Task<RepositoryIndexResponse> RepositoryIndex(RepositoryIndexRequest request, ServerCallContext context)
    {
        CheckRepositoryName(request.RepositoryName);
        var response = new RepositoryIndexResponse();
        foreach (var row in repository.GetIndex().Where(r => !request.Ready || r.State == "READY"))
        {
            response.Models.Add(new RepositoryIndexResponse.Types.ModelIndex { Name = row.Name, Version = row.Version ?? "", State = row.State, Reason = row.Reason });
        }

        return Task.FromResult(response);
    }

    public override async Task<RepositoryModelLoadResponse> RepositoryModelLoad(RepositoryModelLoadRequest request, ServerCallContext context)
    {
        CheckRepositoryName(request.RepositoryName);
        RepositoryEndpoints.CheckLoadParameters(request.Parameters.Keys);
        if (request.Parameters.TryGetValue("config", out var config))
        {
            var policy = RepositoryEndpoints.ReadVersionPolicyOverride(
                config.ParameterChoiceCase == ModelRepositoryParameter.ParameterChoiceOneofCase.StringParam ? config.StringParam : null);
            await repository.LoadAsync(request.ModelName, policy, context.CancellationToken);
        }
        else
        {
            await repository.LoadAsync(request.ModelName, context.CancellationToken);
        }

        return new RepositoryModelLoadResponse();
    }

    public override async Task<RepositoryModelUnloadResponse> RepositoryModelUnload(RepositoryModelUnloadRequest request, ServerCallContext context)
    {
        CheckRepositoryName(request.RepositoryName);
        await repository.UnloadAsync(request.ModelName, context.CancellationToken);
        return new RepositoryModelUnloadResponse();
    }

    // The protocol's empty string: no version named (the highest ready).
    private static string? Version(string version) => version.Length > 0 ? version : null;

    // The server has one repository; Triton's clients send its name or nothing.
    private static void CheckRepositoryName(string name)
    {
        if (name.Length > 0)
        {
            throw InferenceException.BadRequest($"unknown repository '{InferenceException.Clip(name)}'; this server has one model repository: leave repository_name empty");
        }
    }

    // The REST answer's JSON object, read into the protocol's message (fields it has no place for are left out).
    private static T FromJson<T>(Action<Utf8JsonWriter> body)
        where T : IMessage, new()
    {
        using var buffer = new PooledBufferWriter(1024);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            body(writer);
            writer.WriteEndObject();
        }

        return Parser.Parse<T>(Encoding.UTF8.GetString(buffer.WrittenSpan));
    }
}
