using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace ServingGateway.Gateway.Tests.Deployments.Shadow;

/// <summary>Infer answers in the node's format (JSON, or JSON then raw bytes with the header length) for the shadow tests.</summary>
internal static class ShadowAnswers
{
    /// <summary>A JSON answer with one FP32 output per entry, data flat.</summary>
    public static byte[] Json(params (string Name, long[] Shape, float[] Data)[] outputs) =>
        Encoding.UTF8.GetBytes("{\"model_name\":\"m\",\"model_version\":\"1\",\"outputs\":[" + string.Join(",", outputs.Select(o =>
            $"{{\"name\":\"{o.Name}\",\"datatype\":\"FP32\",\"shape\":[{string.Join(",", o.Shape)}],\"data\":[{string.Join(",", o.Data.Select(Text))}]}}")) + "]}");

    /// <summary>The same outputs as <see cref="Json"/>, every one as binary: the body and its header length.</summary>
    public static (byte[] Body, int HeaderLength) Binary(params (string Name, long[] Shape, float[] Data)[] outputs)
    {
        var json = Encoding.UTF8.GetBytes("{\"model_name\":\"m\",\"model_version\":\"1\",\"outputs\":[" + string.Join(",", outputs.Select(o =>
            $"{{\"name\":\"{o.Name}\",\"datatype\":\"FP32\",\"shape\":[{string.Join(",", o.Shape)}],\"parameters\":{{\"binary_data_size\":{o.Data.Length * 4}}}}}")) + "]}");
        byte[] body = [.. json, .. outputs.SelectMany(o => MemoryMarshal.AsBytes(o.Data.AsSpan()).ToArray())];
        return (body, json.Length);
    }

    // The writer's form: the shortest text that parses back to the float, non-finite values as strings.
    private static string Text(float v) => float.IsFinite(v) ? v.ToString("R", CultureInfo.InvariantCulture) : float.IsNaN(v) ? "\"NaN\"" : v > 0 ? "\"Infinity\"" : "\"-Infinity\"";
}
