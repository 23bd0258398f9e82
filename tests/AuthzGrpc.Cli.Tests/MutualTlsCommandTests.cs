using AuthzGrpc.Testing;

namespace AuthzGrpc.Cli.Tests;

/// <summary>
/// <c>--cert</c> and <c>--key</c> (and a context's) against a real server that requires client certificates of a
/// private CA on its TLS endpoint (<c>Authz:Tls:ClientCaFile</c>).
/// </summary>
public sealed class MutualTlsCommandTests : IAsyncLifetime
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("authzctl-mtls-");
    private readonly int _tlsPort = ServerProcess.FreeLoopbackPort();
    private ServerProcess _server = null!;

    private string File(string name) => Path.Combine(_folder.FullName, name);

    public async Task InitializeAsync()
    {
        using var ca = TestCertificateAuthority.Create("authzctl test CA");
        using var leaf = ca.IssueServer();
        using var client = ca.IssueClient("operator");
        await ca.WriteCertificateAsync(File("ca.pem"));
        await TestCertificateAuthority.WritePemAsync(leaf, File("server.pem"), File("server.key"));
        await TestCertificateAuthority.WritePemAsync(client, File("client.pem"), File("client.key"));
        _server = await ServerProcess.StartAsync(
            $"--Kestrel:Endpoints:Tls:Url=https://127.0.0.1:{_tlsPort}",
            $"--Kestrel:Endpoints:Tls:Certificate:Path={File("server.pem")}",
            $"--Kestrel:Endpoints:Tls:Certificate:KeyPath={File("server.key")}",
            $"--Authz:Tls:ClientCaFile={File("ca.pem")}");
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _folder.Delete(recursive: true);
    }

    [Fact]
    public async Task CertAndKey_AreSent_WithoutThemTheHandshakeFails_AndAContextKeepsThem()
    {
        var https = $"https://127.0.0.1:{_tlsPort}";

        var served = await Run("check", "application:storefront-web", "deploy", "user:olivia", "--server", https, "--ca", File("ca.pem"), "--cert", File("client.pem"), "--key", File("client.key"));
        var refused = await Run("check", "application:storefront-web", "deploy", "user:olivia", "--server", https, "--ca", File("ca.pem"));
        var half = await Run("check", "application:storefront-web", "deploy", "user:olivia", "--server", https, "--cert", File("client.pem"));
        var added = await Run("context", "add", "mtls", "--server", https, "--ca", File("ca.pem"), "--cert", File("client.pem"), "--key", File("client.key"));
        var fromContext = await Run("check", "application:storefront-web", "deploy", "user:olivia", "--context", "mtls");

        Assert.Equal((0, "ALLOWED at revision 1"), (served.Exit, served.Output.Trim()));
        // The handshake fails: unreachable (5), or another failure (6) when TLS 1.3 reports it after the client's side.
        Assert.InRange(refused.Exit, 5, 6);
        Assert.Empty(refused.Output);
        Assert.Equal(2, half.Exit);
        Assert.Contains("--cert and --key go together", half.Error, StringComparison.Ordinal);
        Assert.Equal(0, added.Exit);
        Assert.Equal((0, "ALLOWED at revision 1"), (fromContext.Exit, fromContext.Output.Trim()));
    }

    // authzctl with the test's config file and the server's key.
    private async Task<(int Exit, string Output, string Error)> Run(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await AuthzCtl.RunAsync(
            [.. args, "--token", _server.Key!], output, error, _folder.FullName, name => name == "AUTHZCTL_CONFIG" ? File("config.json") : null);
        return (exit, output.ToString(), error.ToString());
    }
}
