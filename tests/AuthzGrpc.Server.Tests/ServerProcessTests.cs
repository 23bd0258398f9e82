using AuthzGrpc.Testing;
using AuthzGrpc.V1;
using static AuthzGrpc.Server.Tests.Infrastructure.Requests;

namespace AuthzGrpc.Server.Tests;

/// <summary>
/// The server as <c>scripts/run.sh</c> starts it: its own process, default configuration (the default model and
/// relationships from <c>models/</c>, seeded into the default SQLite file <c>.data/authz.db</c> under the working
/// folder), only the port changed — then Check through the generated client over loopback.
/// </summary>
public sealed class ServerProcessTests
{
    [Fact]
    public async Task ServerProcess_WithDefaultModel_AnswersAllowedAndDenied_AndKeepsItsDataUnderTheWorkingFolder()
    {
        await using var server = await ServerProcess.StartAsync();

        var allowed = await server.Authorization.CheckAsync(Check("user:olivia", "deploy", "application:storefront-web"));
        var denied = await server.Authorization.CheckAsync(Check("user:alex", "deploy", "application:storefront-web"));

        Assert.Equal(Decision.Allowed, allowed.Decision);
        Assert.Equal(Decision.Denied, denied.Decision);
        Assert.Equal("1", allowed.Revision);
        Assert.True(File.Exists(Path.Combine(server.WorkingFolder, ".data", "authz.db")), "the default SQLite file is .data/authz.db under the working folder");
    }
}
