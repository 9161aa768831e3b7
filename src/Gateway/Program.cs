using ServingGateway.Hosting;

return await GatewayApp.RunAsync(args, Console.Out, Console.Error);
