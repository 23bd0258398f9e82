using AuthzGrpc.Server;
using AuthzGrpc.Server.Hosting;
using Microsoft.AspNetCore.Connections;

if (args is [HealthProbe.Command, ..])
{
    return await HealthProbe.RunAsync(args[1..]);
}

// The composition lives in AuthzServer so the integration tests start exactly this server.
WebApplication app;
try
{
    app = await AuthzServer.BuildAsync(args);
}
catch (ModelLoadException)
{
    // Already logged at Critical with the file and what to fix; exit without a stack trace.
    return 1;
}

try
{
    await app.RunAsync();
    return 0;
}
catch (IOException e) when (e.InnerException is AddressInUseException)
{
    Log.AddressInUse(app.Logger, e.Message);
    return 2;
}
