using ServingGateway.LoadTool;
using ServingGateway.LoadTool.Cli;

using var cancellation = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    // The first Ctrl+C stops the run and still writes the reports; a second one kills the process.
    if (!cancellation.IsCancellationRequested)
    {
        e.Cancel = true;
        cancellation.Cancel();
    }
};

var command = args.Length > 0 ? args[0] : "";
var rest = args.Skip(1).ToArray();
try
{
    return command switch
    {
        "run" => await RunCommand.ExecuteAsync(rest, cancellation.Token),
        "find-max-rate" => await FindMaxRateCommand.ExecuteAsync(rest, cancellation.Token),
        "--help" or "-h" or "help" => Help(ExitCodes.Ok),
        _ => Help(ExitCodes.Usage),
    };
}
catch (LoadToolException ex)
{
    ConsoleOutput.Error(ex.Message);
    return ExitCodes.Usage;
}

static int Help(int exitCode)
{
    (exitCode == ExitCodes.Ok ? Console.Out : Console.Error).Write(Usage.Tool);
    return exitCode;
}
