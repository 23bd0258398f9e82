using AuthzGrpc.Cli;

return await AuthzCtl.RunAsync(args, Console.Out, Console.Error);
