using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using AuthzGrpc.Testing;
using AuthzGrpc.V1;
using Grpc.Core;
using Grpc.Net.Client;
using static AuthzGrpc.Server.Tests.Infrastructure.Requests;

namespace AuthzGrpc.Server.Tests;

/// <summary>
/// <c>Authz:Tls:ClientCaFile</c> as a process: the TLS endpoint serves a client whose certificate chains to that CA and
/// refuses, at the handshake, one without a certificate or with another CA's. The plaintext endpoint is not TLS, so it
/// asks for no certificate.
/// </summary>
public sealed class MutualTlsTests : IAsyncLifetime
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("authz-mtls-");
    private readonly int _tlsPort = ServerProcess.FreeLoopbackPort();
    private readonly TestCertificateAuthority _clientCa = TestCertificateAuthority.Create("authz test client CA");
    private readonly TestCertificateAuthority _otherCa = TestCertificateAuthority.Create("another CA");
    private X509Certificate2 _serverCertificate = null!;
    private ServerProcess _server = null!;

    public async Task InitializeAsync()
    {
        using var serverCa = TestCertificateAuthority.Create("authz test server CA");
        _serverCertificate = serverCa.IssueServer();
        var (certificateFile, keyFile, clientCaFile) =
            (Path.Combine(_folder.FullName, "server.pem"), Path.Combine(_folder.FullName, "server.key"), Path.Combine(_folder.FullName, "clients.pem"));
        await TestCertificateAuthority.WritePemAsync(_serverCertificate, certificateFile, keyFile);
        await _clientCa.WriteCertificateAsync(clientCaFile);
        _server = await ServerProcess.StartAsync(
            $"--Kestrel:Endpoints:Tls:Url=https://127.0.0.1:{_tlsPort}",
            $"--Kestrel:Endpoints:Tls:Certificate:Path={certificateFile}",
            $"--Kestrel:Endpoints:Tls:Certificate:KeyPath={keyFile}",
            $"--Authz:Tls:ClientCaFile={clientCaFile}");
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _serverCertificate.Dispose();
        _clientCa.Dispose();
        _otherCa.Dispose();
        _folder.Delete(recursive: true);
    }

    [Fact]
    public async Task ClientCertificateOfTheCa_IsServed_NoneOrAnotherCas_IsRefused()
    {
        using var good = _clientCa.IssueClient("operator");
        using var foreign = _otherCa.IssueClient("intruder");

        var served = await CheckAsync(good);
        var without = await Assert.ThrowsAsync<RpcException>(() => CheckAsync(null));
        var wrong = await Assert.ThrowsAsync<RpcException>(() => CheckAsync(foreign));

        Assert.Equal(Decision.Allowed, served.Decision);
        // Refused at the handshake: no gRPC status comes from the server, the client reports its transport's failure
        // (UNAVAILABLE, or INTERNAL when TLS 1.3 lets the client finish its side before the server's refusal arrives).
        Assert.All([without, wrong], refused =>
        {
            Assert.NotEqual(StatusCode.OK, refused.StatusCode);
            Assert.NotNull(refused.Status.DebugException);
        });
    }

    private async Task<CheckResponse> CheckAsync(X509Certificate2? clientCertificate)
    {
        var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, presented, _, _) =>
            presented is not null && presented.GetCertHashString(HashAlgorithmName.SHA256) == _serverCertificate.GetCertHashString(HashAlgorithmName.SHA256);
        if (clientCertificate is not null)
        {
            handler.SslOptions.ClientCertificates = [clientCertificate];
        }

        var bearer = CallCredentials.FromInterceptor((_, metadata) =>
        {
            metadata.Add("authorization", "Bearer " + _server.Key);
            return Task.CompletedTask;
        });
        using var channel = GrpcChannel.ForAddress(
            $"https://127.0.0.1:{_tlsPort}", new GrpcChannelOptions { HttpHandler = handler, Credentials = ChannelCredentials.Create(ChannelCredentials.SecureSsl, bearer) });
        return await new AuthorizationService.AuthorizationServiceClient(channel)
            .CheckAsync(Check("user:olivia", "deploy", "application:storefront-web"), deadline: DateTime.UtcNow.AddSeconds(20));
    }
}
