using ServingGateway.LoadTool.Payloads;

namespace ServingGateway.LoadTool.Cli;

/// <summary>
/// One model of a run as the user gave it. Unset values fall back to the command line's
/// <c>--payload</c>, <c>--binary</c>, <c>--dim</c> and <c>--variants</c>, then to the defaults.
/// </summary>
internal sealed class TargetOptions
{
    public string Model { get; set; } = "";

    public int Weight { get; set; } = 1;

    public PayloadSource? Payload { get; set; }

    public bool? Binary { get; set; }

    public Dictionary<string, long[]> Dims { get; } = new(StringComparer.Ordinal);

    public int? Variants { get; set; }
}
