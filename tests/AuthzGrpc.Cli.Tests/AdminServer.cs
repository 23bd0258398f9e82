using AuthzGrpc.Testing;

namespace AuthzGrpc.Cli.Tests;

/// <summary>
/// A real server process on loopback (the default model and its demo data) shared by a test class, and
/// <c>authzctl</c> run in process against it with the server's admin key.
/// </summary>
public sealed class AdminServer : IAsyncLifetime
{
    private ServerProcess _process = null!;

    /// <summary>The server process.</summary>
    public ServerProcess Process => _process;

    /// <inheritdoc/>
    public async Task InitializeAsync() => _process = await ServerProcess.StartAsync();

    /// <inheritdoc/>
    public async Task DisposeAsync() => await _process.DisposeAsync();

    /// <summary>Runs <c>authzctl</c> with the admin key, as a script would.</summary>
    public Task<(int Exit, string Output, string Error)> Run(params string[] args) => RunAgainst(_process, args);

    /// <summary>Runs <c>authzctl</c> with another key (<c>--token</c>).</summary>
    public Task<(int Exit, string Output, string Error)> RunWithKey(string key, params string[] args) => RunAgainst(_process, key, args);

    /// <summary>Creates a management key acting as <c>user:<paramref name="user"/></c> (with its email when given) and returns it.</summary>
    public async Task<string> ManagementKey(string user, string? email = null)
    {
        var (exit, output, error) = await Run(["apikey", "create", user, "--kind", "management", "-o", "json", .. email is null ? Array.Empty<string>() : ["--email", email]]);
        Assert.True(exit == 0, error);
        using var json = System.Text.Json.JsonDocument.Parse(output);
        return json.RootElement.GetProperty("key").GetString()!;
    }

    /// <summary>Runs <c>authzctl</c> against <paramref name="server"/> with its admin key.</summary>
    public static Task<(int Exit, string Output, string Error)> RunAgainst(ServerProcess server, params string[] args)
    {
        ArgumentNullException.ThrowIfNull(server);
        return RunAgainst(server, server.Key!, args);
    }

    /// <summary>Runs <c>authzctl</c> against <paramref name="server"/> with <paramref name="key"/>.</summary>
    public static async Task<(int Exit, string Output, string Error)> RunAgainst(ServerProcess server, string key, params string[] args)
    {
        ArgumentNullException.ThrowIfNull(server);
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await AuthzCtl.RunAsync([.. args, "--server", server.Address.ToString(), "--token", key], output, error);
        return (exit, output.ToString(), error.ToString());
    }
}
