using AuthzGrpc.Testing;

namespace AuthzGrpc.Cli.Tests;

/// <summary>
/// <c>--tls</c> and <c>--ca</c> against a real server that also serves TLS on a second endpoint, with a certificate of a
/// private CA that the machine does not trust: authzctl connects only when told to trust that CA.
/// </summary>
public sealed class TlsCommandTests : IAsyncLifetime
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("authzctl-tls-");
    private readonly int _tlsPort = ServerProcess.FreeLoopbackPort();
    private ServerProcess _server = null!;

    private string CaFile => Path.Combine(_folder.FullName, "ca.pem");

    public async Task InitializeAsync()
    {
        using var ca = TestCertificateAuthority.Create("authzctl test CA");
        using var leaf = ca.IssueServer();
        await ca.WriteCertificateAsync(CaFile);
        var (certificateFile, keyFile) = (Path.Combine(_folder.FullName, "server.pem"), Path.Combine(_folder.FullName, "server.key"));
        await TestCertificateAuthority.WritePemAsync(leaf, certificateFile, keyFile);
        _server = await ServerProcess.StartAsync(
            $"--Kestrel:Endpoints:Tls:Url=https://127.0.0.1:{_tlsPort}",
            $"--Kestrel:Endpoints:Tls:Certificate:Path={certificateFile}",
            $"--Kestrel:Endpoints:Tls:Certificate:KeyPath={keyFile}");
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _folder.Delete(recursive: true);
    }

    [Fact]
    public async Task Ca_TrustsThePrivateCa_WithoutItTheCallFails()
    {
        var https = $"https://127.0.0.1:{_tlsPort}";

        var trusted = await Run("--server", https, "--ca", CaFile);
        var upgraded = await Run("--server", $"127.0.0.1:{_tlsPort}", "--tls", "--ca", CaFile);
        var untrusted = await Run("--server", https);
        var notPem = await Run("--server", https, "--ca", Path.Combine(AppContext.BaseDirectory, "authzctl.dll"));

        Assert.Equal((0, "ALLOWED at revision 1"), (trusted.Exit, trusted.Output.Trim()));
        Assert.Equal((0, "ALLOWED at revision 1"), (upgraded.Exit, upgraded.Output.Trim()));
        Assert.True(untrusted.Exit >= 2, $"exit {untrusted.Exit}: {untrusted.Error}");
        Assert.Empty(untrusted.Output);
        Assert.Equal(2, notPem.Exit);
    }

    private async Task<(int Exit, string Output, string Error)> Run(params string[] connection)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await AuthzCtl.RunAsync(["check", "application:storefront-web", "deploy", "user:olivia", "--token", _server.Key!, .. connection], output, error);
        return (exit, output.ToString(), error.ToString());
    }
}
