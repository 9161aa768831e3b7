using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using ServingGateway.Inference.Buffers;
using ServingGateway.Inference.Caching;
using ServingGateway.Inference.Metrics;
using ServingGateway.Inference.Protocol;
using ServingGateway.Inference.Repository;
using ServingGateway.Inference.Tensors;

namespace ServingGateway.Inference.Http;

/// <summary>
/// The Open Inference Protocol (KServe V2) REST endpoints of an inference node, with Triton's model
/// repository extension and the binary tensor data extension.
/// </summary>
public static class InferenceEndpoints
{
    /// <summary>The request and response header of the binary tensor data extension.</summary>
    public const string HeaderLengthHeader = "Inference-Header-Content-Length";

    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static readonly string ServerVersion =
        typeof(InferenceEndpoints).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    /// <summary>Maps the inference node's endpoints under <c>/v2</c>.</summary>
    public static IEndpointRouteBuilder MapInferenceEndpoints(this IEndpointRouteBuilder endpoints)
    {
        var handlers = new Handlers(
            endpoints.ServiceProvider.GetRequiredService<ModelRepository>(),
            endpoints.ServiceProvider.GetRequiredService<PredictionCache>(),
            endpoints.ServiceProvider.GetRequiredService<NodeMetrics>(),
            endpoints.ServiceProvider.GetRequiredService<RequestPathWarmUp>(),
            endpoints.ServiceProvider.GetRequiredService<RequestBodyBudget>(),
            endpoints.ServiceProvider.GetRequiredService<IHostApplicationLifetime>(),
            endpoints.ServiceProvider.GetRequiredService<IOptions<InferenceOptions>>().Value);

        endpoints.MapGet("/v2/health/live", Handlers.LiveAsync);
        endpoints.MapGet("/v2/health/ready", handlers.ReadyAsync);
        endpoints.MapGet("/v2", Handlers.ServerMetadataAsync);
        endpoints.MapGet("/v2/models/{model}", handlers.ModelMetadataAsync);
        endpoints.MapGet("/v2/models/{model}/versions/{version}", handlers.ModelMetadataAsync);
        endpoints.MapGet("/v2/models/{model}/ready", handlers.ModelReadyAsync);
        endpoints.MapGet("/v2/models/{model}/versions/{version}/ready", handlers.ModelReadyAsync);
        endpoints.MapPost("/v2/models/{model}/infer", handlers.InferAsync);
        endpoints.MapPost("/v2/models/{model}/versions/{version}/infer", handlers.InferAsync);
        endpoints.MapGet("/v2/models/stats", handlers.StatisticsAsync);
        endpoints.MapGet("/v2/models/{model}/stats", handlers.StatisticsAsync);
        endpoints.MapGet("/v2/models/{model}/versions/{version}/stats", handlers.StatisticsAsync);
        endpoints.MapModelConfig();
        endpoints.MapPost("/v2/repository/index", handlers.IndexAsync);
        endpoints.MapPost("/v2/repository/models/{model}/load", handlers.LoadAsync);
        endpoints.MapPost("/v2/repository/models/{model}/unload", handlers.UnloadAsync);
        return endpoints;
    }

    private sealed class Handlers(ModelRepository repository, PredictionCache cache, NodeMetrics metrics, RequestPathWarmUp warmUp, RequestBodyBudget budget, IHostApplicationLifetime lifetime, InferenceOptions options)
    {
        public static Task LiveAsync(HttpContext context) =>
            WriteJsonAsync(context, StatusCodes.Status200OK, w => w.WriteBoolean("live"u8, true));

        public Task ReadyAsync(HttpContext context)
        {
            if (lifetime.ApplicationStopping.IsCancellationRequested)
            {
                // Before anything else stops, so the edges take the node out while it still serves (ShutdownDrain).
                return ErrorResponse.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, "the server is shutting down");
            }

            if (!repository.IsReady || !warmUp.IsComplete)
            {
                context.Response.Headers.RetryAfter = "1";
                return ErrorResponse.WriteAsync(context, StatusCodes.Status503ServiceUnavailable,
                    repository.IsReady ? "the server is warming up" : "the server is still loading its models");
            }

            return WriteJsonAsync(context, StatusCodes.Status200OK, w => w.WriteBoolean("ready"u8, true));
        }

        public static Task ServerMetadataAsync(HttpContext context) =>
            WriteJsonAsync(context, StatusCodes.Status200OK, w =>
            {
                w.WriteString("name"u8, "servinggateway");
                w.WriteString("version"u8, ServerVersion);
                w.WriteStartArray("extensions"u8);
                w.WriteStringValue("binary_tensor_data"u8);
                w.WriteStringValue("model_repository"u8);
                w.WriteStringValue("statistics"u8);
                w.WriteStringValue("schedule_policy"u8);
                w.WriteEndArray();
            });

        public Task ModelMetadataAsync(HttpContext context) => GuardAsync(context, () =>
        {
            var (name, versionText) = RouteModel(context);
            var model = repository.Acquire(name, versionText);
            try
            {
                var versions = versionText is null ? repository.GetReady(name) ?? [model] : [model];
                SetModelHeaders(context, model);
                return WriteJsonAsync(context, StatusCodes.Status200OK, w => WriteModelMetadata(w, model, versions));
            }
            finally
            {
                model.Release();
            }
        });

        public Task ModelReadyAsync(HttpContext context) => GuardAsync(context, () =>
        {
            var (name, versionText) = RouteModel(context);
            if (repository.GetReady(name) is null)
            {
                throw InferenceException.NotFound($"unknown model '{name}'");
            }

            ModelVersion model;
            try
            {
                model = repository.Acquire(name, versionText);
            }
            catch (InferenceException ex) when (ex.StatusCode == StatusCodes.Status404NotFound)
            {
                throw new InferenceException(StatusCodes.Status503ServiceUnavailable, ex.Message);
            }

            model.Release();
            return WriteJsonAsync(context, StatusCodes.Status200OK, w =>
            {
                w.WriteString("name"u8, name);
                w.WriteString("version"u8, model.VersionText);
                w.WriteBoolean("ready"u8, true);
            });
        });

        public async Task InferAsync(HttpContext context)
        {
            var started = Stopwatch.GetTimestamp();
            var (name, versionText) = RouteModel(context);
            var status = StatusCodes.Status200OK;
            ModelVersion? model = null;
            try
            {
                model = repository.Acquire(name, versionText);
                var headerLength = ReadHeaderLength(context.Request);
                using var body = await PooledBody.ReadAsync(context.Request, options.MaxRequestBodyBytes, budget, context.RequestAborted);
                UInt128? exactKey = null;
                if (model.CachePolicy.Enabled)
                {
                    var lookupStarted = cache.GetTimestamp();
                    exactKey = CacheKey.ComputeExact(model.CacheKeyPrefix, headerLength, body.Span);
                    if (cache.GetResponse(model, exactKey.Value, lookupStarted) is { } repeated)
                    {
                        // A byte-identical request was answered before: the same answer, without parsing it again.
                        context.Response.Headers["X-Cache"] = CacheHeader(CacheOutcome.HitMemory);
                        await WriteCachedResponseAsync(context, model, repeated);
                        return;
                    }
                }

                var computeStarted = cache.GetTimestamp();
                using var request = InferRequestReader.Read(body.Span, headerLength, model.Signature, options.MaxRank);
                var (outputs, outcome) = await cache.InferAsync(model, request, context.RequestAborted);
                try
                {
                    context.Response.Headers["X-Cache"] = CacheHeader(outcome);
                    await WriteInferResponseAsync(context, model, request, outputs, exactKey, computeStarted);
                }
                finally
                {
                    foreach (var output in outputs)
                    {
                        output.Dispose();
                    }
                }
            }
            catch (InferenceException ex)
            {
                status = ex.StatusCode;
                await ErrorResponse.WriteAsync(context, ex.StatusCode, ex.Message, ex.RetryAfter);
            }
            catch (BadHttpRequestException ex)
            {
                status = ex.StatusCode;
                await ErrorResponse.WriteAsync(context, ex.StatusCode, ex.Message);
            }
            finally
            {
                var elapsed = Stopwatch.GetElapsedTime(started);
                if (model is not null)
                {
                    var outcome = status < 400 ? model.Statistics.Success : model.Statistics.Fail;
                    outcome.Add(1, (long)(elapsed.TotalMilliseconds * 1_000_000));
                    model.Release();
                }

                metrics.RecordInference(model?.ModelName ?? "", model?.VersionText ?? "", status, elapsed);
            }
        }

        public Task StatisticsAsync(HttpContext context) => GuardAsync(context, () =>
        {
            var name = context.Request.RouteValues["model"] as string;
            var versionText = context.Request.RouteValues["version"] as string;
            var versions = new List<ModelVersion>();
            try
            {
                if (name is null)
                {
                    foreach (var row in repository.GetIndex().Where(r => r.State == "READY").DistinctBy(r => r.Name))
                    {
                        AcquireAll(row.Name, versions);
                    }
                }
                else if (versionText is null)
                {
                    if (repository.GetReady(name) is null)
                    {
                        throw InferenceException.NotFound($"unknown model '{name}'");
                    }

                    AcquireAll(name, versions);
                }
                else
                {
                    versions.Add(repository.Acquire(name, versionText));
                }

                return WriteJsonAsync(context, StatusCodes.Status200OK, w => StatisticsWriter.Write(w, versions));
            }
            finally
            {
                foreach (var version in versions)
                {
                    version.Release();
                }
            }
        });

        private void AcquireAll(string name, List<ModelVersion> into)
        {
            foreach (var version in repository.GetReady(name) ?? [])
            {
                if (version.TryAcquire())
                {
                    into.Add(version);
                }
            }
        }

        public Task IndexAsync(HttpContext context) => GuardAsync(context, async () =>
        {
            var readyOnly = false;
            using (var body = await PooledBody.ReadAsync(context.Request, 64 * 1024, budget, context.RequestAborted))
            {
                if (!body.Span.IsEmpty)
                {
                    using var document = ParseObject(body.Span);
                    if (document.RootElement.TryGetProperty("ready", out var ready))
                    {
                        readyOnly = ready.ValueKind switch
                        {
                            JsonValueKind.True => true,
                            JsonValueKind.False => false,
                            _ => throw InferenceException.BadRequest("\"ready\" must be true or false"),
                        };
                    }
                }
            }

            var rows = repository.GetIndex().Where(r => !readyOnly || r.State == "READY").ToList();
            await WriteJsonArrayAsync(context, rows);
        });

        public Task LoadAsync(HttpContext context) => GuardAsync(context, async () =>
        {
            var name = (string)context.Request.RouteValues["model"]!;
            await ReadManagementBodyAsync(context);
            await repository.LoadAsync(name, context.RequestAborted);
            await WriteJsonArrayAsync(context, [.. repository.GetIndex().Where(r => r.Name == name)]);
        });

        public Task UnloadAsync(HttpContext context) => GuardAsync(context, async () =>
        {
            var name = (string)context.Request.RouteValues["model"]!;
            await ReadManagementBodyAsync(context);
            await repository.UnloadAsync(name, context.RequestAborted);
            await WriteJsonArrayAsync(context, [.. repository.GetIndex().Where(r => r.Name == name)]);
        });

        private async Task ReadManagementBodyAsync(HttpContext context)
        {
            // Triton's optional {"parameters": {...}}: accepted when well-formed; config overrides are not supported.
            using var body = await PooledBody.ReadAsync(context.Request, 64 * 1024, budget, context.RequestAborted);
            if (!body.Span.IsEmpty)
            {
                using var document = ParseObject(body.Span);
                if (document.RootElement.TryGetProperty("parameters", out var parameters)
                    && parameters.ValueKind == JsonValueKind.Object
                    && parameters.EnumerateObject().Any(p => p.Name == "config" || p.Name.StartsWith("file:", StringComparison.Ordinal)))
                {
                    throw InferenceException.BadRequest("load parameters \"config\" and \"file:\" overrides are not supported; change the files in the model repository");
                }
            }
        }

        private static JsonDocument ParseObject(ReadOnlySpan<byte> json)
        {
            JsonUtf8.EnsureValid(json);
            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(json.ToArray(), new JsonDocumentOptions { MaxDepth = InferRequestReader.MaxJsonDepth });
            }
            catch (JsonException ex)
            {
                throw InferenceException.BadRequest($"malformed JSON: {ex.Message}");
            }

            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                document.Dispose();
                throw InferenceException.BadRequest("the request body must be a JSON object");
            }

            return document;
        }

        private static async Task GuardAsync(HttpContext context, Func<Task> handler)
        {
            try
            {
                await handler();
            }
            catch (InferenceException ex)
            {
                await ErrorResponse.WriteAsync(context, ex.StatusCode, ex.Message, ex.RetryAfter);
            }
            catch (BadHttpRequestException ex)
            {
                await ErrorResponse.WriteAsync(context, ex.StatusCode, ex.Message);
            }
        }

        private static string CacheHeader(CacheOutcome outcome) => outcome switch
        {
            CacheOutcome.HitMemory => "hit-memory",
            CacheOutcome.HitRedis => "hit-redis",
            CacheOutcome.Miss => "miss",
            _ => "bypass",
        };

        private static (string Name, string? Version) RouteModel(HttpContext context) =>
            ((string)context.Request.RouteValues["model"]!, context.Request.RouteValues["version"] as string);

        private static int? ReadHeaderLength(HttpRequest request)
        {
            if (!request.Headers.TryGetValue(HeaderLengthHeader, out var values))
            {
                return null;
            }

            if (values.Count != 1 || !int.TryParse(values[0], NumberStyles.None, CultureInfo.InvariantCulture, out var length))
            {
                throw InferenceException.BadRequest($"{HeaderLengthHeader} must be one non-negative integer");
            }

            return length;
        }

        private static void SetModelHeaders(HttpContext context, ModelVersion model)
        {
            context.Response.Headers["X-Model-Version"] = model.VersionText;
            context.Response.Headers["X-Model-Digest"] = model.Digest;
        }

        private static Task WriteCachedResponseAsync(HttpContext context, ModelVersion model, CachedResponse cached)
        {
            var response = context.Response;
            response.StatusCode = StatusCodes.Status200OK;
            SetModelHeaders(context, model);
            if (cached.HeaderLength is { } headerLength)
            {
                response.Headers[HeaderLengthHeader] = headerLength.ToString(CultureInfo.InvariantCulture);
                response.ContentType = "application/octet-stream";
            }
            else
            {
                response.ContentType = "application/json";
            }

            response.ContentLength = cached.Body.Length;
            return response.Body.WriteAsync(cached.Body, context.RequestAborted).AsTask();
        }

        // Writes the response; when the model caches and admits it, also keeps it whole for byte-identical repeats.
        private async Task WriteInferResponseAsync(HttpContext context, ModelVersion model, InferRequest request, PooledTensor[] outputs, UInt128? exactKey, long computeStarted)
        {
            using var json = new PooledBufferWriter();
            InferResponseWriter.Write(json, model.ModelName, model.VersionText, request.Id, outputs, request.Outputs);

            var response = context.Response;
            response.StatusCode = StatusCodes.Status200OK;
            SetModelHeaders(context, model);
            long binaryLength = 0;
            for (var i = 0; i < outputs.Length; i++)
            {
                if (request.Outputs[i].Binary)
                {
                    binaryLength += outputs[i].Length;
                }
            }

            var hasBinary = request.Outputs.Any(o => o.Binary);
            if (hasBinary)
            {
                response.Headers[HeaderLengthHeader] = json.WrittenCount.ToString(CultureInfo.InvariantCulture);
                response.ContentType = "application/octet-stream";
            }
            else
            {
                response.ContentType = "application/json";
            }

            response.ContentLength = json.WrittenCount + binaryLength;
            if (exactKey is { } key && cache.AdmitResponse(model, key, computeStarted))
            {
                var storeStarted = cache.GetTimestamp();
                var whole = new byte[json.WrittenCount + binaryLength];
                json.WrittenSpan.CopyTo(whole);
                var at = json.WrittenCount;
                for (var i = 0; i < outputs.Length; i++)
                {
                    if (request.Outputs[i].Binary)
                    {
                        outputs[i].Span.CopyTo(whole.AsSpan(at));
                        at += outputs[i].Length;
                    }
                }

                cache.SetResponse(model, key, new CachedResponse(whole, hasBinary ? json.WrittenCount : null), storeStarted);
                await response.Body.WriteAsync(whole, context.RequestAborted);
                return;
            }

            var pipe = response.BodyWriter;
            pipe.Write(json.WrittenSpan);
            for (var i = 0; i < outputs.Length; i++)
            {
                if (request.Outputs[i].Binary)
                {
                    pipe.Write(outputs[i].Span);
                }
            }

            await pipe.FlushAsync(context.RequestAborted);
        }

        private static void WriteModelMetadata(Utf8JsonWriter w, ModelVersion model, ModelVersion[] versions)
        {
            w.WriteString("name"u8, model.ModelName);
            w.WriteStartArray("versions"u8);
            foreach (var version in versions)
            {
                w.WriteStringValue(version.VersionText);
            }

            w.WriteEndArray();
            w.WriteString("platform"u8, "onnxruntime_onnx"u8);
            WriteTensors(w, "inputs"u8, model.Signature.Inputs);
            WriteTensors(w, "outputs"u8, model.Signature.Outputs);
            w.WriteStartObject("parameters"u8);
            w.WriteString("version"u8, model.VersionText);
            w.WriteString("digest"u8, model.Digest);
            w.WriteNumber("max_batch_size"u8, model.Signature.MaxBatchSize);
            w.WriteNumber("instances"u8, model.InstanceCount);
            w.WriteString("batching"u8, model.Batching.Mode.ToString().ToLowerInvariant());
            w.WriteString("execution_provider"u8, model.ExecutionProvider);
            w.WriteEndObject();
        }

        private static void WriteTensors(Utf8JsonWriter w, ReadOnlySpan<byte> property, TensorSpec[] tensors)
        {
            w.WriteStartArray(property);
            foreach (var tensor in tensors)
            {
                w.WriteStartObject();
                w.WriteString("name"u8, tensor.Name);
                w.WriteString("datatype"u8, tensor.DataType.ToOipName());
                w.WriteStartArray("shape"u8);
                foreach (var dim in tensor.Shape)
                {
                    w.WriteNumberValue(dim);
                }

                w.WriteEndArray();
                w.WriteEndObject();
            }

            w.WriteEndArray();
        }

        private static Task WriteJsonArrayAsync(HttpContext context, List<RepositoryIndexEntry> rows) =>
            WriteJsonAsync(context, StatusCodes.Status200OK, array: true, w =>
            {
                foreach (var row in rows)
                {
                    w.WriteStartObject();
                    w.WriteString("name"u8, row.Name);
                    if (row.Version is not null)
                    {
                        w.WriteString("version"u8, row.Version);
                    }

                    w.WriteString("state"u8, row.State);
                    w.WriteString("reason"u8, row.Reason);
                    w.WriteEndObject();
                }
            });

        private static Task WriteJsonAsync(HttpContext context, int statusCode, Action<Utf8JsonWriter> body) =>
            WriteJsonAsync(context, statusCode, array: false, body);

        private static async Task WriteJsonAsync(HttpContext context, int statusCode, bool array, Action<Utf8JsonWriter> body)
        {
            using var buffer = new PooledBufferWriter(1024);
            using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
            {
                if (array)
                {
                    writer.WriteStartArray();
                    body(writer);
                    writer.WriteEndArray();
                }
                else
                {
                    writer.WriteStartObject();
                    body(writer);
                    writer.WriteEndObject();
                }
            }

            var response = context.Response;
            response.StatusCode = statusCode;
            response.ContentType = "application/json";
            response.ContentLength = buffer.WrittenCount;
            await response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted);
        }
    }
}
