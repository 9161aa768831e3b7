namespace ServingGateway.LoadTool.Cli;

/// <summary>The tool's exit codes, for CI gates.</summary>
internal static class ExitCodes
{
    /// <summary>The run completed and every threshold held.</summary>
    public const int Ok = 0;

    /// <summary>A threshold was missed, or find-max-rate found no passing rate (or one below --min-rate).</summary>
    public const int ThresholdMissed = 1;

    /// <summary>Bad usage, an unreachable server, a refused payload, or an interrupted run.</summary>
    public const int Usage = 2;
}
