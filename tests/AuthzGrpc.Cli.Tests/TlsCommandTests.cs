using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
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
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=authzctl test CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        using var ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));

        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var serverRequest = new CertificateRequest("CN=127.0.0.1", serverKey, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        serverRequest.CertificateExtensions.Add(names.Build());
        serverRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        using var leaf = serverRequest.Create(ca, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddHours(12), [1, 2, 3, 4]);

        await File.WriteAllTextAsync(CaFile, ca.ExportCertificatePem());
        var (certificateFile, keyFile) = (Path.Combine(_folder.FullName, "server.pem"), Path.Combine(_folder.FullName, "server.key"));
        await File.WriteAllTextAsync(certificateFile, leaf.ExportCertificatePem());
        await File.WriteAllTextAsync(keyFile, serverKey.ExportPkcs8PrivateKeyPem());
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
