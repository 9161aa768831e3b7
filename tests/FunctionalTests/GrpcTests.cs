using System.Runtime.InteropServices;
using System.Text.Json;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using ServingGateway.FunctionalTests.Infrastructure;
using OpenInferenceProtocol;
using ServingGateway.TestSupport;

namespace ServingGateway.FunctionalTests;

/// <summary>
/// The Open Inference Protocol over gRPC (issue 18), with a client generated from protos/grpc_service.proto as any
/// client would be: every RPC, raw and typed contents both ways, the same answers and errors as REST from the same
/// server (one standalone server with both listeners).
/// </summary>
public sealed class GrpcTests : IAsyncLifetime
{
    private GatewayServer _server = null!;
    private GrpcChannel _channel = null!;
    private GRPCInferenceService.GRPCInferenceServiceClient _client = null!;

    public async Task InitializeAsync()
    {
        _server = await GatewayServer.StartWithGrpcAsync(RepoPaths.TestModels);
        _channel = GrpcChannel.ForAddress(_server.GrpcAddress!);
        _client = new GRPCInferenceService.GRPCInferenceServiceClient(_channel);
    }

    public async Task DisposeAsync()
    {
        _channel.Dispose();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task Health_LiveReadyAndModelReady()
    {
        Assert.True((await _client.ServerLiveAsync(new ServerLiveRequest())).Live);
        Assert.True((await _client.ServerReadyAsync(new ServerReadyRequest())).Ready);
        Assert.True((await _client.ModelReadyAsync(new ModelReadyRequest { Name = "mlp" })).Ready);
        Assert.True((await _client.ModelReadyAsync(new ModelReadyRequest { Name = "mlp", Version = "1" })).Ready);
        Assert.False((await _client.ModelReadyAsync(new ModelReadyRequest { Name = "mlp", Version = "9" })).Ready);
        Assert.False((await _client.ModelReadyAsync(new ModelReadyRequest { Name = "nosuchmodel" })).Ready);
    }

    [Fact]
    public async Task Metadata_SameAsRest()
    {
        var server = await _client.ServerMetadataAsync(new ServerMetadataRequest());
        using var rest = JsonDocument.Parse(await _server.Client.GetStringAsync("v2"));
        Assert.Equal("servinggateway", server.Name);
        Assert.Equal(rest.RootElement.GetProperty("version").GetString(), server.Version);
        Assert.Equal(rest.RootElement.GetProperty("extensions").EnumerateArray().Select(e => e.GetString()), server.Extensions);

        var model = await _client.ModelMetadataAsync(new ModelMetadataRequest { Name = "fixed" });
        Assert.Equal("fixed", model.Name);
        Assert.Equal(["1"], model.Versions);
        Assert.Equal("onnxruntime_onnx", model.Platform);
        Assert.Equal(["a", "b"], model.Inputs.Select(i => i.Name));
        Assert.All(model.Inputs, i => Assert.Equal("FP32", i.Datatype));
        Assert.Equal([2L, 3L], model.Inputs[0].Shape);
        Assert.Equal(["sum", "product"], model.Outputs.Select(o => o.Name));

        var mlp = await _client.ModelMetadataAsync(new ModelMetadataRequest { Name = "mlp", Version = "1" });
        Assert.Equal([-1L, 64L], mlp.Inputs.Single().Shape);
    }

    [Fact]
    public async Task Infer_Raw_SameBytesAsRestBinary()
    {
        var input = Floats(64, seed: 1);
        using var call = _client.ModelInferAsync(RawRequest("mlp", "input", [1, 64], Oip.Bytes(input), id: "r-1"));
        var reply = await call;
        var headers = await call.ResponseHeadersAsync;

        Assert.Equal("1", headers.GetValue("x-model-version"));
        Assert.StartsWith("sha256:", headers.GetValue("x-model-digest"), StringComparison.Ordinal);
        Assert.NotNull(headers.GetValue("x-cache"));
        Assert.NotNull(headers.GetValue("x-served-by"));

        Assert.Equal("mlp", reply.ModelName);
        Assert.Equal("1", reply.ModelVersion);
        Assert.Equal("r-1", reply.Id);
        var output = Assert.Single(reply.Outputs);
        Assert.Equal(("output", "FP32"), (output.Name, output.Datatype));
        Assert.Equal([1L, 10L], output.Shape);
        Assert.Null(output.Contents);
        Assert.Equal(await RestOutputAsync(input, [1, 64]), reply.RawOutputContents.Single().ToByteArray());
    }

    [Fact]
    public async Task Infer_Typed_TypedAnswerEqualToRaw()
    {
        var input = Floats(64, seed: 2);
        var request = new ModelInferRequest { ModelName = "mlp" };
        var tensor = new ModelInferRequest.Types.InferInputTensor { Name = "input", Datatype = "FP32", Contents = new InferTensorContents() };
        tensor.Shape.AddRange([1, 64]);
        tensor.Contents.Fp32Contents.AddRange(input);
        request.Inputs.Add(tensor);

        var reply = await _client.ModelInferAsync(request);

        Assert.Empty(reply.RawOutputContents);
        var typed = reply.Outputs.Single().Contents.Fp32Contents.ToArray();
        Assert.Equal(MemoryMarshal.Cast<byte, float>(await RestOutputAsync(input, [1, 64])).ToArray(), typed);

        // INT64 in, FP32 out, typed both ways, equal to the same request sent raw.
        var lookup = new ModelInferRequest { ModelName = "lookup" };
        var ids = new ModelInferRequest.Types.InferInputTensor { Name = "ids", Datatype = "INT64", Contents = new InferTensorContents() };
        ids.Shape.AddRange([1, 2]);
        ids.Contents.Int64Contents.AddRange([1, 3]);
        lookup.Inputs.Add(ids);
        var typedLookup = await _client.ModelInferAsync(lookup);
        var rawLookup = await _client.ModelInferAsync(RawRequest("lookup", "ids", [1, 2], MemoryMarshal.AsBytes<long>([1, 3]).ToArray(), datatype: "INT64"));
        Assert.Equal([1L, 2L, 3L], typedLookup.Outputs.Single().Shape);
        Assert.Equal(MemoryMarshal.Cast<byte, float>(rawLookup.RawOutputContents.Single().Span).ToArray(), typedLookup.Outputs.Single().Contents.Fp32Contents.ToArray());
    }

    [Fact]
    public async Task Infer_EveryDatatypeRaw_SameBytesAsRest()
    {
        // "types" has an input and an output of every datatype; FP16 and BF16 have no typed field, so it is raw.
        var metadata = await _client.ModelMetadataAsync(new ModelMetadataRequest { Name = "types" });
        var request = new ModelInferRequest { ModelName = "types" };
        var restHeader = new List<string>();
        var blobs = new List<byte[]>();
        foreach (var input in metadata.Inputs)
        {
            var bytes = Sample(input.Datatype);
            var tensor = new ModelInferRequest.Types.InferInputTensor { Name = input.Name, Datatype = input.Datatype };
            tensor.Shape.AddRange([1, 3]);
            request.Inputs.Add(tensor);
            request.RawInputContents.Add(ByteString.CopyFrom(bytes));
            restHeader.Add($$$"""{"name":"{{{input.Name}}}","datatype":"{{{input.Datatype}}}","shape":[1,3],"parameters":{"binary_data_size":{{{bytes.Length}}}}}""");
            blobs.Add(bytes);
        }

        var reply = await _client.ModelInferAsync(request);
        using var rest = await _server.Client.PostAsync("v2/models/types/infer",
            Oip.Binary($$$"""{"inputs":[{{{string.Join(",", restHeader)}}}],"parameters":{"binary_data_output":true}}""", [.. blobs]));
        var expected = await Oip.ReadAsync(rest);

        Assert.Equal(metadata.Outputs.Count, reply.Outputs.Count);
        for (var i = 0; i < reply.Outputs.Count; i++)
        {
            var output = reply.Outputs[i];
            Assert.Equal(metadata.Outputs[i].Datatype, output.Datatype);
            Assert.Equal(expected.Binary[output.Name], reply.RawOutputContents[i].ToByteArray());
        }
    }

    [Fact]
    public async Task Infer_BatchOfFour_EqualsFourSingleRows()
    {
        var rows = Enumerable.Range(0, 4).Select(r => Floats(64, seed: 10 + r)).ToArray();
        var batch = await _client.ModelInferAsync(RawRequest("mlp", "input", [4, 64], [.. rows.SelectMany(Oip.Bytes)]));
        Assert.Equal([4L, 10L], batch.Outputs.Single().Shape);
        var batched = batch.RawOutputContents.Single().ToByteArray();
        for (var r = 0; r < 4; r++)
        {
            var single = await _client.ModelInferAsync(RawRequest("mlp", "input", [1, 64], Oip.Bytes(rows[r])));
            Assert.Equal(batched.AsSpan(r * 40, 40).ToArray(), single.RawOutputContents.Single().ToByteArray());
        }
    }

    [Fact]
    public async Task Infer_RequestedOutputs_OnlyThoseInThatOrder()
    {
        var request = RawRequest("fixed", "a", [2, 3], Oip.Bytes([1, 2, 3, 4, 5, 6]));
        var b = new ModelInferRequest.Types.InferInputTensor { Name = "b", Datatype = "FP32" };
        b.Shape.AddRange([2, 3]);
        request.Inputs.Add(b);
        request.RawInputContents.Add(ByteString.CopyFrom(Oip.Bytes([1, 1, 1, 1, 1, 1])));
        request.Outputs.Add(new ModelInferRequest.Types.InferRequestedOutputTensor { Name = "product" });

        var reply = await _client.ModelInferAsync(request);

        Assert.Equal("product", reply.Outputs.Single().Name);
        Assert.Equal([1f, 2, 3, 4, 5, 6], MemoryMarshal.Cast<byte, float>(reply.RawOutputContents.Single().Span).ToArray());
    }

    [Fact]
    public async Task Errors_InvalidArgument_SameMessageAsRest()
    {
        // A datatype the model does not take: the message REST gives, as INVALID_ARGUMENT.
        var wrongType = await FailsAsync(RawRequest("mlp", "input", [1, 64], new byte[64 * 8], datatype: "FP64"));
        using var rest = await _server.Client.PostAsync("v2/models/mlp/infer",
            Oip.Json("""{"inputs":[{"name":"input","shape":[1,64],"datatype":"FP64","data":[0]}]}"""));
        Assert.Equal(StatusCode.InvalidArgument, wrongType.StatusCode);
        Assert.Equal(await Oip.ReadErrorAsync(rest), wrongType.Status.Detail);

        Assert.Equal("input 'input' has shape [1, 63] but the model expects [-1, 64]",
            (await FailsAsync(RawRequest("mlp", "input", [1, 63], new byte[63 * 4]))).Status.Detail);
        Assert.StartsWith("unknown input 'nope'", (await FailsAsync(RawRequest("mlp", "nope", [1, 64], new byte[256]))).Status.Detail, StringComparison.Ordinal);
        Assert.Contains("has 100 bytes of raw_input_contents, which does not fit shape [1, 64] of FP32",
            (await FailsAsync(RawRequest("mlp", "input", [1, 64], new byte[100]))).Status.Detail, StringComparison.Ordinal);
        Assert.Equal("the request has no inputs", (await FailsAsync(new ModelInferRequest { ModelName = "mlp" })).Status.Detail);

        var typed = new ModelInferRequest { ModelName = "mlp" };
        var tensor = new ModelInferRequest.Types.InferInputTensor { Name = "input", Datatype = "FP32", Contents = new InferTensorContents() };
        tensor.Shape.AddRange([1, 64]);
        tensor.Contents.Fp32Contents.AddRange(new float[63]);
        typed.Inputs.Add(tensor);
        Assert.Equal("input 'input' has shape [1, 64] (64 elements) but its fp32_contents holds 63", (await FailsAsync(typed)).Status.Detail);
        tensor.Contents.Fp32Contents.Add(0);
        tensor.Contents.Int64Contents.Add(1);
        Assert.Equal("input 'input' is FP32: its contents go in fp32_contents, and only there", (await FailsAsync(typed)).Status.Detail);

        var negative = RawRequest("mlp", "input", [1, 64], new byte[256]);
        negative.Parameters["timeout"] = new InferParameter { Int64Param = -1 };
        Assert.Equal("parameter \"timeout\" (microseconds) must be an integer from 0 to 86400000000", (await FailsAsync(negative)).Status.Detail);
        var all = await Assert.ThrowsAsync<RpcException>(async () => await _client.ModelStatisticsAsync(new ModelStatisticsRequest { Version = "1" }));
        Assert.Equal(StatusCode.InvalidArgument, all.StatusCode);
    }

    [Fact]
    public async Task Errors_NotFound_UnknownModelOrVersion()
    {
        var model = await FailsAsync(RawRequest("nosuchmodel", "input", [1, 64], new byte[256]));
        Assert.Equal(StatusCode.NotFound, model.StatusCode);
        Assert.Contains("nosuchmodel", model.Status.Detail, StringComparison.Ordinal);

        var request = RawRequest("mlp", "input", [1, 64], new byte[256]);
        request.ModelVersion = "9";
        Assert.Equal(StatusCode.NotFound, (await FailsAsync(request)).StatusCode);
        var metadata = await Assert.ThrowsAsync<RpcException>(async () => await _client.ModelMetadataAsync(new ModelMetadataRequest { Name = "nosuchmodel" }));
        Assert.Equal(StatusCode.NotFound, metadata.StatusCode);
        var config = await Assert.ThrowsAsync<RpcException>(async () => await _client.ModelConfigAsync(new ModelConfigRequest { Name = "nosuchmodel" }));
        Assert.Equal(StatusCode.NotFound, config.StatusCode);
    }

    [Fact]
    public async Task Errors_QueueTimeout_UnavailableWithRetryAfter()
    {
        var statistics = _server.Repository.GetReady("slow")![0].Statistics;
        var before = statistics.Queue.Count;
        var busy = _client.ModelInferAsync(RawRequest("slow", "x", [1, 512], new byte[512 * 4])).ResponseAsync;
        await Poll.UntilAsync(() => statistics.Queue.Count > before || busy.IsCompleted, "the busy request to start");

        // Behind a running request, a 1 µs timeout has passed before the instance is free.
        var timedOut = RawRequest("slow", "x", [1, 512], new byte[512 * 4]);
        timedOut.Parameters["timeout"] = new InferParameter { Int64Param = 1 };
        var refused = await FailsAsync(timedOut);

        Assert.Equal(StatusCode.Unavailable, refused.StatusCode);
        Assert.Contains("timed out", refused.Status.Detail, StringComparison.Ordinal);
        Assert.True(int.Parse(refused.Trailers.GetValue(GrpcRetryAfter)!, System.Globalization.CultureInfo.InvariantCulture) >= 1);
        await busy;
    }

    [Fact]
    public async Task Errors_MessageOverTheBodyLimit_ResourceExhausted()
    {
        await using var server = await GatewayServer.StartWithGrpcAsync(RepoPaths.TestModels, "--Inference:MaxRequestBodyBytes", "4096");
        using var channel = GrpcChannel.ForAddress(server.GrpcAddress!);
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);

        var fits = await client.ModelInferAsync(RawRequest("mlp", "input", [4, 64], new byte[4 * 256]));
        var tooLarge = await Assert.ThrowsAsync<RpcException>(async () => await client.ModelInferAsync(RawRequest("mlp", "input", [32, 64], new byte[32 * 256])));

        Assert.Single(fits.RawOutputContents);
        Assert.True(tooLarge.StatusCode == StatusCode.ResourceExhausted, tooLarge.ToString());
    }

    [Fact]
    public async Task Messages_HeldUntilAnswered_ChargedToTheRequestBodyBudget()
    {
        // 1 MiB messages, 2 MiB for all bodies and messages held at once: two 900 KB messages (padded with a parameter
        // the server ignores) waiting behind 40 slow requests (about 10 ms each, so 0.4 s of queue even on a loaded CI
        // machine) fill it; a third is refused until they are answered.
        using var models = new TempModelRepository("slow");
        models.WriteConfig("slow", """{"max_batch_size": 1, "instances": 1, "max_queue_rows": 64}""");
        await using var server = await GatewayServer.StartWithGrpcAsync(models.Path,
            "--Inference:MaxRequestBodyBytes", "1048576", "--Inference:MaxBufferedRequestMb", "2");
        using var channel = GrpcChannel.ForAddress(server.GrpcAddress!);
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
        var budget = server.Services<Inference.Serving.RequestBodyBudget>();
        ModelInferRequest Padded()
        {
            var request = RawRequest("slow", "x", [1, 512], new byte[512 * 4]);
            request.Parameters["padding"] = new InferParameter { StringParam = new string('p', 900_000) };
            return request;
        }

        for (var attempt = 1; ; attempt++)
        {
            var ahead = Enumerable.Range(0, 40).Select(_ => client.ModelInferAsync(RawRequest("slow", "x", [1, 512], new byte[512 * 4])).ResponseAsync).ToArray();
            var held = new[] { client.ModelInferAsync(Padded()).ResponseAsync, client.ModelInferAsync(Padded()).ResponseAsync };
            await Poll.UntilAsync(() => budget.ChargedBytes >= 1_800_000 || held.Any(h => h.IsCompleted), "the two messages to be held");
            var outcome = await Record.ExceptionAsync(() => client.ModelInferAsync(Padded()).ResponseAsync);
            var decisive = held.All(h => !h.IsCompleted); // both still held when the third was answered
            await Task.WhenAll([.. ahead, .. held]);
            if (!decisive && attempt < 5)
            {
                continue; // the queue drained before the third was read: nothing was proven either way
            }

            Assert.True(decisive, "the two held messages were answered before the third was read, in 5 attempts");
            var refused = Assert.IsType<RpcException>(outcome);
            Assert.Equal(StatusCode.Unavailable, refused.StatusCode);
            Assert.Contains("Inference:MaxBufferedRequestMb", refused.Status.Detail, StringComparison.Ordinal);
            Assert.Equal("1", refused.Trailers.GetValue(GrpcRetryAfter));

            // Given back once answered: nothing stays charged, and the same message is served now.
            Assert.Equal(0, budget.ChargedBytes);
            Assert.Single((await client.ModelInferAsync(Padded())).RawOutputContents);
            return;
        }
    }

    [Fact]
    public async Task Statistics_CountTheGrpcRequests_SameAsRest()
    {
        var before = (await _client.ModelStatisticsAsync(new ModelStatisticsRequest { Name = "dynamic" })).ModelStats.Single().InferenceStats.Success.Count;
        var request = RawRequest("dynamic", "x", [1, 2], Oip.Bytes([1, 2]));
        await _client.ModelInferAsync(request);
        await _client.ModelInferAsync(request);

        var stats = (await _client.ModelStatisticsAsync(new ModelStatisticsRequest { Name = "dynamic", Version = "1" })).ModelStats.Single();
        using var rest = JsonDocument.Parse(await _server.Client.GetStringAsync("v2/models/dynamic/versions/1/stats"));
        var restStats = rest.RootElement.GetProperty("model_stats")[0];

        Assert.Equal(("dynamic", "1"), (stats.Name, stats.Version));
        Assert.Equal(before + 2, stats.InferenceStats.Success.Count);
        Assert.Equal(restStats.GetProperty("inference_stats").GetProperty("success").GetProperty("count").GetUInt64(), stats.InferenceStats.Success.Count);
        Assert.True(stats.InferenceStats.Success.Ns > 0);
        Assert.NotEmpty(stats.BatchStats);
        Assert.Contains((await _client.ModelStatisticsAsync(new ModelStatisticsRequest())).ModelStats, s => s.Name == "mlp");
    }

    [Fact]
    public async Task Config_TritonsFields()
    {
        var config = (await _client.ModelConfigAsync(new ModelConfigRequest { Name = "mlp" })).Config;
        using var rest = JsonDocument.Parse(await _server.Client.GetStringAsync("v2/models/mlp/config"));

        Assert.Equal("mlp", config.Name);
        Assert.Equal("onnxruntime_onnx", config.Platform);
        Assert.Equal(64, config.MaxBatchSize);
        Assert.Equal(("input", DataType.TypeFp32), (config.Input.Single().Name, config.Input.Single().DataType));
        Assert.Equal([64L], config.Input.Single().Dims);
        Assert.Equal([10L], config.Output.Single().Dims);
        Assert.Equal(2, config.InstanceGroup.Single().Count);
        Assert.Equal(ModelInstanceGroup.Types.Kind.Cpu, config.InstanceGroup.Single().Kind);
        Assert.Equal(rest.RootElement.GetProperty("dynamic_batching").GetProperty("max_queue_delay_microseconds").GetUInt64(), config.DynamicBatching.MaxQueueDelayMicroseconds);
        Assert.Equal(rest.RootElement.GetProperty("parameters").GetProperty("digest").GetProperty("string_value").GetString(), config.Parameters["digest"].StringValue);
    }

    [Fact]
    public async Task Repository_IndexUnloadLoad()
    {
        var index = await _client.RepositoryIndexAsync(new RepositoryIndexRequest { Ready = true });
        Assert.Contains(index.Models, m => m is { Name: "versioned", Version: "3", State: "READY" });
        Assert.DoesNotContain(index.Models, m => m.Name == "broken");
        Assert.Contains((await _client.RepositoryIndexAsync(new RepositoryIndexRequest())).Models, m => m.Name == "broken" && m.State == "UNAVAILABLE");

        await _client.RepositoryModelUnloadAsync(new RepositoryModelUnloadRequest { ModelName = "versioned" });
        Assert.False((await _client.ModelReadyAsync(new ModelReadyRequest { Name = "versioned" })).Ready);
        await _client.RepositoryModelLoadAsync(new RepositoryModelLoadRequest { ModelName = "versioned" });
        Assert.True((await _client.ModelReadyAsync(new ModelReadyRequest { Name = "versioned" })).Ready);

        var unknown = await Assert.ThrowsAsync<RpcException>(async () => await _client.RepositoryModelLoadAsync(new RepositoryModelLoadRequest { ModelName = "versioned", RepositoryName = "other" }));
        Assert.Equal(StatusCode.InvalidArgument, unknown.StatusCode);
        var overrides = new RepositoryModelLoadRequest { ModelName = "versioned" };
        overrides.Parameters["config"] = new ModelRepositoryParameter { StringParam = "{}" };
        Assert.Equal(StatusCode.InvalidArgument, (await Assert.ThrowsAsync<RpcException>(async () => await _client.RepositoryModelLoadAsync(overrides))).StatusCode);
    }

    [Fact]
    public async Task UnknownMethod_Unimplemented()
    {
        var method = new Method<ServerLiveRequest, ServerLiveResponse>(MethodType.Unary, "inference.GRPCInferenceService", "ModelStreamInferNope",
            Marshallers.Create(m => m.ToByteArray(), ServerLiveRequest.Parser.ParseFrom), Marshallers.Create(m => m.ToByteArray(), ServerLiveResponse.Parser.ParseFrom));
        var ex = await Assert.ThrowsAsync<RpcException>(async () => await _channel.CreateCallInvoker().AsyncUnaryCall(method, null, new CallOptions(), new ServerLiveRequest()));
        Assert.Equal(StatusCode.Unimplemented, ex.StatusCode);
    }

    [Fact]
    public async Task Reflection_OffByDefault_OnWithTheSwitch()
    {
        // Off: no such RPC, answered at its headers (before any message).
        using (var call = new Grpc.Reflection.V1Alpha.ServerReflection.ServerReflectionClient(_channel).ServerReflectionInfo())
        {
            var off = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None));
            Assert.Equal(StatusCode.Unimplemented, off.StatusCode);
        }

        await using var server = await GatewayServer.StartWithGrpcAsync(RepoPaths.TestModels, "--Grpc:Reflection", "true");
        using var channel = GrpcChannel.ForAddress(server.GrpcAddress!);
        Assert.Contains("inference.GRPCInferenceService", await ListServicesAsync(channel));
    }

    private static async Task<List<string>> ListServicesAsync(GrpcChannel channel)
    {
        var reflection = new Grpc.Reflection.V1Alpha.ServerReflection.ServerReflectionClient(channel);
        using var call = reflection.ServerReflectionInfo();
        await call.RequestStream.WriteAsync(new Grpc.Reflection.V1Alpha.ServerReflectionRequest { ListServices = "" });
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        return [.. call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name)];
    }

    internal const string GrpcRetryAfter = "retry-after";

    internal static ModelInferRequest RawRequest(string model, string input, long[] shape, byte[] data, string datatype = "FP32", string? id = null)
    {
        var request = new ModelInferRequest { ModelName = model, Id = id ?? "" };
        var tensor = new ModelInferRequest.Types.InferInputTensor { Name = input, Datatype = datatype };
        tensor.Shape.AddRange(shape);
        request.Inputs.Add(tensor);
        request.RawInputContents.Add(ByteString.CopyFrom(data));
        return request;
    }

    private async Task<RpcException> FailsAsync(ModelInferRequest request) =>
        await Assert.ThrowsAsync<RpcException>(async () => await _client.ModelInferAsync(request));

    private async Task<byte[]> RestOutputAsync(float[] input, long[] shape)
    {
        using var response = await _server.Client.PostAsync("v2/models/mlp/infer", Oip.Binary(
            $$$"""{"inputs":[{"name":"input","datatype":"FP32","shape":[{{{string.Join(",", shape)}}}],"parameters":{"binary_data_size":{{{input.Length * 4}}}}}],"outputs":[{"name":"output","parameters":{"binary_data":true}}]}""",
            Oip.Bytes(input)));
        return (await Oip.ReadAsync(response)).Binary["output"];
    }

    private static float[] Floats(int count, int seed)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, count).Select(_ => (float)random.NextDouble() - 0.5f)];
    }

    // Three elements of the datatype, as raw bytes (BYTES: three length-prefixed strings).
    private static byte[] Sample(string datatype) => datatype switch
    {
        "BOOL" => [1, 0, 1],
        "UINT8" or "INT8" => [1, 2, 200],
        "UINT16" or "INT16" or "FP16" or "BF16" => [0, 60, 0, 64, 0, 66],
        "UINT32" or "INT32" or "FP32" => Oip.Bytes([1.5f, -2, 3]),
        "UINT64" or "INT64" or "FP64" => MemoryMarshal.AsBytes<double>([1.5, -2, 3]).ToArray(),
        "BYTES" => [1, 0, 0, 0, (byte)'a', 2, 0, 0, 0, (byte)'b', (byte)'c', 0, 0, 0, 0],
        _ => throw new ArgumentOutOfRangeException(nameof(datatype), datatype, null),
    };
}

/// <summary>API keys and rate limits on gRPC calls (standalone): the same middleware as REST, answered as gRPC statuses.</summary>
public sealed class GrpcAuthTests : IAsyncLifetime
{
    private const string InferKey = "grpc-infer-key";
    private const string DeployKey = "grpc-deploy-key";
    private readonly string _config = Path.Combine(Path.GetTempPath(), $"sg-grpc-auth-{Guid.NewGuid():N}.json");
    private GatewayServer _server = null!;
    private GrpcChannel _channel = null!;
    private GRPCInferenceService.GRPCInferenceServiceClient _client = null!;

    public async Task InitializeAsync()
    {
        // The infer key's bucket holds 3 requests and refills one in 1000 s: the fourth is refused, whatever the machine's speed.
        await File.WriteAllTextAsync(_config, $$$"""
            {
              "Auth": {"Keys": [
                {"Name": "infer", "Sha256": "{{{Auth.ApiKeyMiddleware.Hash(InferKey)}}}", "Roles": ["infer"]},
                {"Name": "deploy", "Sha256": "{{{Auth.ApiKeyMiddleware.Hash(DeployKey)}}}", "Roles": ["deploy", "infer"]}
              ]},
              "RateLimits": {"Default": {"Rate": 0.001, "Burst": 3}}
            }
            """);
        _server = await GatewayServer.StartWithGrpcAsync(RepoPaths.TestModels, "--config", _config, "--Auth:AllowAnonymous", "false");
        _channel = GrpcChannel.ForAddress(_server.GrpcAddress!);
        _client = new GRPCInferenceService.GRPCInferenceServiceClient(_channel);
    }

    public async Task DisposeAsync()
    {
        _channel.Dispose();
        await _server.DisposeAsync();
        File.Delete(_config);
    }

    [Fact]
    public async Task Keys_NoneWrongOrTooWeak_RefusedAsGrpcStatuses()
    {
        var none = await Assert.ThrowsAsync<RpcException>(async () => await _client.ModelMetadataAsync(new ModelMetadataRequest { Name = "mlp" }));
        var wrong = await Assert.ThrowsAsync<RpcException>(async () => await _client.ModelMetadataAsync(new ModelMetadataRequest { Name = "mlp" }, Bearer("not-a-key")));
        var weak = await Assert.ThrowsAsync<RpcException>(async () => await _client.RepositoryModelUnloadAsync(new RepositoryModelUnloadRequest { ModelName = "mlp" }, Bearer(InferKey)));

        Assert.Equal(StatusCode.Unauthenticated, none.StatusCode);
        Assert.Equal(StatusCode.Unauthenticated, wrong.StatusCode);
        Assert.Equal(StatusCode.PermissionDenied, weak.StatusCode);
        Assert.True((await _client.ModelReadyAsync(new ModelReadyRequest { Name = "mlp" }, Bearer(DeployKey))).Ready);
        Assert.True((await _client.ServerLiveAsync(new ServerLiveRequest())).Live); // health is public, as on REST
    }

    [Fact]
    public async Task RateLimit_BucketEmpty_ResourceExhaustedWithRetryAfter()
    {
        var request = GrpcTests.RawRequest("mlp", "input", [1, 64], new byte[256]);
        for (var i = 0; i < 3; i++)
        {
            await _client.ModelInferAsync(request, Bearer(InferKey));
        }

        var refused = await Assert.ThrowsAsync<RpcException>(async () => await _client.ModelInferAsync(request, Bearer(InferKey)));

        Assert.Equal(StatusCode.ResourceExhausted, refused.StatusCode);
        Assert.StartsWith("rate limit exceeded: 3 requests at once", refused.Status.Detail, StringComparison.Ordinal);
        Assert.True(int.Parse(refused.Trailers.GetValue(GrpcTests.GrpcRetryAfter)!, System.Globalization.CultureInfo.InvariantCulture) >= 1);
    }

    private static Metadata Bearer(string key) => new() { { "authorization", "Bearer " + key } };
}
