using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Google.Protobuf.Collections;
using OpenInferenceProtocol;

namespace ServingGateway.LoadTool.Payloads;

/// <summary>
/// Turns an OIP JSON infer request into a serialized <c>ModelInferRequest</c> (Triton's form): the model's name,
/// the request's <c>id</c> and parameters, each input's name, datatype, shape and parameters with its data as
/// one entry of <c>raw_input_contents</c> (the binary extension's byte layout), and the requested outputs. The
/// REST-only binary-extension parameters (<c>binary_data_output</c>, <c>binary_data_size</c>, <c>binary_data</c>)
/// are left out: gRPC carries raw bytes both ways. Serialized once per payload, so a run measures the server and
/// the transport, not the tool's protobuf encoding.
/// </summary>
internal static class GrpcPayloadEncoder
{
    private static readonly string[] RestOnlyParameters = ["binary_data_output", "binary_data_size", "binary_data"];

    public static InferRequestBody Encode(JsonObject request, string model) => new(ToMessage(request, model).ToByteArray(), null);

    internal static ModelInferRequest ToMessage(JsonObject request, string model)
    {
        if (request["inputs"] is not JsonArray inputs)
        {
            throw new LoadToolException("the request has no \"inputs\" array");
        }

        var message = new ModelInferRequest { ModelName = model };
        if (request["id"] is JsonValue id)
        {
            message.Id = id.GetValue<string>();
        }

        CopyParameters(request, message.Parameters);
        foreach (var node in inputs)
        {
            if (node is not JsonObject input || input["data"] is not JsonNode data)
            {
                throw new LoadToolException("every input needs \"data\" to be sent over gRPC");
            }

            var name = input["name"]?.GetValue<string>() ?? throw new LoadToolException("an input has no \"name\"");
            var datatype = input["datatype"]?.GetValue<string>() ?? throw new LoadToolException($"input '{name}' has no \"datatype\"");
            if (input["shape"] is not JsonArray shape)
            {
                throw new LoadToolException($"input '{name}' has no \"shape\"");
            }

            var tensor = new ModelInferRequest.Types.InferInputTensor { Name = name, Datatype = datatype };
            tensor.Shape.AddRange(shape.Select(d => d?.GetValue<long>() ?? throw new LoadToolException($"input '{name}' has a null dimension")));
            CopyParameters(input, tensor.Parameters);
            message.Inputs.Add(tensor);
            message.RawInputContents.Add(ByteString.CopyFrom(PayloadEncoder.RawBytes(data, datatype)));
        }

        if (request["outputs"] is JsonArray outputs)
        {
            foreach (var node in outputs)
            {
                var name = node?["name"]?.GetValue<string>() ?? throw new LoadToolException("a requested output has no \"name\"");
                var output = new ModelInferRequest.Types.InferRequestedOutputTensor { Name = name };
                CopyParameters((JsonObject)node!, output.Parameters);
                message.Outputs.Add(output);
            }
        }

        return message;
    }

    private static void CopyParameters(JsonObject owner, MapField<string, InferParameter> target)
    {
        if (owner["parameters"] is not JsonObject parameters)
        {
            return;
        }

        foreach (var (key, value) in parameters)
        {
            if (!RestOnlyParameters.Contains(key) && value is JsonValue scalar)
            {
                target[key] = Parameter(key, scalar);
            }
        }
    }

    private static InferParameter Parameter(string key, JsonValue value) => value.GetValueKind() switch
    {
        JsonValueKind.True or JsonValueKind.False => new InferParameter { BoolParam = value.GetValue<bool>() },
        JsonValueKind.String => new InferParameter { StringParam = value.GetValue<string>() },
        JsonValueKind.Number when value.TryGetValue<long>(out var whole) => new InferParameter { Int64Param = whole },
        JsonValueKind.Number => new InferParameter { DoubleParam = value.GetValue<double>() },
        _ => throw new LoadToolException($"parameter '{key}' is not a boolean, number or string"),
    };
}
