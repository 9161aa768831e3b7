using System.Text.Json.Nodes;

namespace ServingGateway.LoadTool.Payloads;

/// <summary>
/// Makes a valid OIP infer request from a model's metadata. Dynamic dimensions (-1) are 1, unless
/// <c>--dim NAME=V1,V2</c> gives the sizes of input NAME's dynamic dimensions in order (NAME <c>*</c>:
/// every input). Values: floating types uniform in [0, 1) with 4 decimals; integer types 0 or 1
/// (valid token ids, attention masks and token type ids); BOOL true or false; BYTES "x". The same
/// seed gives the same request.
/// </summary>
internal static class PayloadGenerator
{
    /// <summary>The most elements one generated input may have.</summary>
    public const long MaxElements = 64L * 1024 * 1024;

    public static JsonObject Generate(ModelMetadata metadata, IReadOnlyDictionary<string, long[]> dims, int seed)
    {
        var random = new Random(seed);
        var inputs = new JsonArray();
        foreach (var input in metadata.Inputs)
        {
            var shape = ResolveShape(input, dims);
            var count = shape.Aggregate(1L, (product, d) => product * d);
            if (count > MaxElements)
            {
                throw new LoadToolException($"input '{input.Name}' of shape [{string.Join(',', shape)}] has {count} elements, more than {MaxElements}");
            }

            var data = new JsonArray();
            for (long i = 0; i < count; i++)
            {
                data.Add(Value(input.Datatype, random));
            }

            inputs.Add(new JsonObject
            {
                ["name"] = input.Name,
                ["shape"] = new JsonArray([.. shape.Select(d => (JsonNode?)JsonValue.Create(d))]),
                ["datatype"] = input.Datatype,
                ["data"] = data,
            });
        }

        return new JsonObject { ["inputs"] = inputs };
    }

    /// <summary>The shape of <paramref name="input"/> with its dynamic dimensions filled in.</summary>
    public static long[] ResolveShape(TensorMetadata input, IReadOnlyDictionary<string, long[]> dims)
    {
        var dynamicCount = input.Shape.Count(d => d < 0);
        if (!dims.TryGetValue(input.Name, out var sizes) && !dims.TryGetValue("*", out sizes))
        {
            sizes = [.. Enumerable.Repeat(1L, dynamicCount)];
        }

        if (sizes.Length != dynamicCount)
        {
            throw new LoadToolException(
                $"--dim for input '{input.Name}' gives {sizes.Length} size(s) but its shape [{string.Join(',', input.Shape)}] has {dynamicCount} dynamic dimension(s)");
        }

        var shape = (long[])input.Shape.Clone();
        var next = 0;
        for (var i = 0; i < shape.Length; i++)
        {
            if (shape[i] < 0)
            {
                shape[i] = sizes[next++];
            }
        }

        return shape;
    }

    private static JsonNode Value(string datatype, Random random) => datatype switch
    {
        "FP16" or "BF16" or "FP32" or "FP64" => JsonValue.Create(Math.Round(random.NextDouble(), 4)),
        "INT8" or "INT16" or "INT32" or "INT64" or "UINT8" or "UINT16" or "UINT32" or "UINT64" => JsonValue.Create(random.Next(2)),
        "BOOL" => JsonValue.Create(random.Next(2) == 1),
        "BYTES" => JsonValue.Create("x"),
        _ => throw new LoadToolException($"cannot generate data of datatype '{datatype}'"),
    };
}
