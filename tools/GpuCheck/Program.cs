using ServingGateway.GpuCheck;

return args.FirstOrDefault() switch
{
    "parity" => Parity.Run(args[1..]),
    "sweep" => Sweep.Run(args[1..]),
    "load" => await Load.RunAsync(args[1..]),
    "serve" => await ServingGateway.Hosting.GatewayApp.RunAsync(args[1..], Console.Out, Console.Error),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("""
        usage: ServingGateway.GpuCheck parity [--models DIR] [--provider cuda|cpu]
               ServingGateway.GpuCheck sweep --model FILE [--provider cuda|cpu] [--batch-sizes 1,2,..] [--seconds S] [--sequence N]
               ServingGateway.GpuCheck load --url URL --model NAME --file FILE --connections C [--seconds S] [--sequence N]
               ServingGateway.GpuCheck serve SERVER-SWITCHES...
        exit status: 0 done, 1 a check failed, 2 usage, 3 CUDA is not available (the reason is printed)
        """);
    return 2;
}
