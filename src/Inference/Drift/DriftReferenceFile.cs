using System.Text.Json;

namespace ServingGateway.Inference.Drift;

/// <summary>
/// drift_reference.json, beside a version's model.onnx: the reference distribution of every watched input, so
/// drift is measured from the first live window on (docs/CONFIGURATION.md has the format). The drift endpoint's
/// <c>?reference=true</c> writes a version's reference window in this format.
/// </summary>
internal static class DriftReferenceFile
{
    /// <summary>Sets the reference of every feature of <paramref name="inputs"/> from the file's text.</summary>
    /// <exception cref="InvalidDataException">The file does not fit the model; the message lists every problem.</exception>
    public static void Read(byte[] utf8Json, DriftInput[] inputs)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8Json);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{DriftMonitor.ReferenceFileName} is not valid JSON: {ex.Message}");
        }

        using (document)
        {
            var errors = new List<string>();
            if (document.RootElement.ValueKind != JsonValueKind.Object || !document.RootElement.TryGetProperty("inputs", out var entries) || entries.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidDataException($"{DriftMonitor.ReferenceFileName} must hold an object with \"inputs\": {{\"<input>\": {{\"features\": [...]}}}}");
            }

            foreach (var entry in entries.EnumerateObject().Where(e => !inputs.Any(i => i.Name == e.Name)))
            {
                errors.Add($"\"{entry.Name}\" is not a watched input of the model ({string.Join(", ", inputs.Select(i => i.Name))})");
            }

            foreach (var input in inputs)
            {
                if (!entries.TryGetProperty(input.Name, out var entry) || entry.ValueKind != JsonValueKind.Object)
                {
                    errors.Add($"no entry for input \"{input.Name}\"");
                    continue;
                }

                var kind = input.Features[0].Kind;
                if (entry.TryGetProperty("kind", out var written) && (written.ValueKind != JsonValueKind.String || written.GetString() != kind))
                {
                    errors.Add($"\"{input.Name}\": \"kind\" must be \"{kind}\" (the input's datatype is {input.DataType})");
                }

                if (!entry.TryGetProperty("features", out var features) || features.ValueKind != JsonValueKind.Array || features.GetArrayLength() != input.Features.Length)
                {
                    errors.Add($"\"{input.Name}\": \"features\" must be an array of {input.Features.Length} feature{(input.Features.Length == 1 ? "" : "s")}");
                    continue;
                }

                var k = 0;
                foreach (var feature in features.EnumerateArray())
                {
                    var where = $"\"{input.Name}\" feature {k}";
                    if (feature.ValueKind != JsonValueKind.Object)
                    {
                        errors.Add($"{where} must be an object");
                    }
                    else
                    {
                        input.Features[k].ReadReference(feature, where, errors);
                    }

                    k++;
                }
            }

            if (errors.Count > 0)
            {
                throw new InvalidDataException($"{DriftMonitor.ReferenceFileName}: {string.Join("; ", errors)}");
            }
        }
    }

    /// <summary>Writes the completed references of <paramref name="inputs"/> as the file holds them.</summary>
    public static void Write(Utf8JsonWriter writer, DriftInput[] inputs)
    {
        writer.WriteStartObject();
        writer.WriteStartObject("inputs");
        foreach (var input in inputs)
        {
            writer.WriteStartObject(input.Name);
            writer.WriteString("kind", input.Features[0].Kind);
            writer.WriteStartArray("features");
            foreach (var feature in input.Features)
            {
                writer.WriteStartObject();
                feature.WriteBins(writer);
                writer.WriteStartArray("fractions");
                foreach (var share in feature.Reference)
                {
                    writer.WriteNumberValue(share);
                }

                writer.WriteEndArray();
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        writer.WriteEndObject();
        writer.WriteEndObject();
    }
}
