namespace ServingGateway.LoadTool.Cli;

/// <summary>
/// The load model of a run: open loop at a constant rate (<c>From == To</c>) or a ramp, in
/// requests per second; or a closed loop of <see cref="Clients"/> (then the rates are 0).
/// </summary>
internal sealed record LoadShape(double From, double To, int Clients)
{
    public bool IsOpen => Clients == 0;

    public static LoadShape Open(double rate) => new(rate, rate, 0);

    public static LoadShape Ramp(double from, double to) => new(from, to, 0);

    public static LoadShape Closed(int clients) => new(0, 0, clients);

    public override string ToString() => Clients > 0
        ? $"closed loop, {Clients} client{(Clients == 1 ? "" : "s")}"
        : From == To ? $"open loop, {From:0.##} req/s" : $"open loop, ramp {From:0.##} → {To:0.##} req/s";
}
