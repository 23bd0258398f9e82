using AuthzGrpc.Testing;
using AuthzGrpc.V1;
using Grpc.Core;
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

    /// <summary>
    /// A check that would run for minutes — the doubling schema with a cycle back to its top: an undecided step is not
    /// shared, so the check meets the cycle again and again until its budget, set here to 2^31 steps, runs out — does not
    /// hold the server: another call is answered meanwhile, and SIGTERM stops the evaluation (UNAVAILABLE, not its budget's
    /// RESOURCE_EXHAUSTED) and the process. The 15 s bound is a liveness guard, not a measurement.
    /// </summary>
    [Fact]
    public async Task Sigterm_DuringALongEvaluation_StopsIt_AndTheProcess_WhileOtherCallsAreAnswered()
    {
        var folder = Directory.CreateTempSubdirectory("authz-shutdown-");
        try
        {
            var schema = Path.Combine(folder.FullName, "cyclic.zed");
            var relationships = Path.Combine(folder.FullName, "cyclic.relationships");
            await File.WriteAllTextAsync(schema, EvaluationLimitsTests.DoublingSchema(40, cyclic: true));
            await File.WriteAllLinesAsync(relationships, ["doc:d#reader@user:u", "doc:d#parent@doc:d"]);
            await using var server = await ServerProcess.StartAsync(
                $"--Authz:SchemaFile={schema}", $"--Authz:RelationshipsFile={relationships}", $"--Authz:EvaluationBudget={int.MaxValue}",
                // The server logs requests at Warning by default; this test watches for the long check to start.
                "--Logging:LogLevel:Microsoft.AspNetCore.Hosting.Diagnostics=Information");

            var checksBefore = ChecksStarted(server);
            var longCheck = server.Authorization.CheckAsync(Check("user:v", "level40", "doc:d")).ResponseAsync;
            await WaitUntilAsync(() => ChecksStarted(server) > checksBefore || longCheck.IsCompleted);

            var other = await server.Authorization.CheckAsync(Check("user:u", "level3", "doc:d"));
            Assert.Equal(Decision.Allowed, other.Decision);
            Assert.False(longCheck.IsCompleted, "the long check ended before the shutdown");

            server.Terminate();

            Assert.True(await server.WaitForExitAsync(TimeSpan.FromSeconds(15)), "the server did not exit within 15 s of SIGTERM:\n" + server.Output);
            var stopped = await Assert.ThrowsAsync<RpcException>(() => longCheck);
            Assert.Equal(StatusCode.Unavailable, stopped.StatusCode);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    // The Check requests the server has started (ASP.NET Core logs each at Information, enabled above).
    private static int ChecksStarted(ServerProcess server) =>
        server.Output.Split('\n').Count(line => line.Contains("Request starting", StringComparison.Ordinal) &&
                                                line.Contains("/authz.v1.AuthorizationService/Check", StringComparison.Ordinal));

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (var i = 0; i < 300 && !condition(); i++)
        {
            await Task.Delay(100);
        }

        Assert.True(condition(), "the server never started the request");
    }
}
