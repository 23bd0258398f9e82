using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using AuthzGrpc.Testing;
using AuthzGrpc.V1;
using Grpc.Core;
using Grpc.Net.Client;
using static AuthzGrpc.Server.Tests.Infrastructure.Requests;

namespace AuthzGrpc.Server.Tests;

/// <summary>
/// The README's TLS set-up, as a process: the server given a certificate and key as PEM files through Kestrel's
/// endpoint configuration serves gRPC over TLS (HTTP/2 by ALPN) to a client that trusts that certificate, and the
/// bearer key travels encrypted; a plaintext client gets no answer from the TLS port.
/// </summary>
public sealed class TlsTests
{
    [Fact]
    public async Task Server_WithAPemCertificate_ServesGrpcOverTls_ToAClientThatTrustsIt_AndNotToPlaintext()
    {
        var folder = Directory.CreateTempSubdirectory("authz-tls-");
        using var certificate = SelfSignedLoopbackCertificate();
        var certificateFile = Path.Combine(folder.FullName, "server.crt");
        var keyFile = Path.Combine(folder.FullName, "server.key");
        await File.WriteAllTextAsync(certificateFile, certificate.ExportCertificatePem());
        await File.WriteAllTextAsync(keyFile, certificate.GetRSAPrivateKey()!.ExportPkcs8PrivateKeyPem());

        var port = ServerProcess.FreeLoopbackPort();
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = folder.FullName, RedirectStandardOutput = true, RedirectStandardError = true };
        Directory.CreateSymbolicLink(Path.Combine(folder.FullName, "models"), Path.Combine(AppContext.BaseDirectory, "models"));
        foreach (var argument in new[]
        {
            Path.Combine(AppContext.BaseDirectory, "AuthzGrpc.Server.dll"),
            $"--Kestrel:Endpoints:Grpc:Url=https://127.0.0.1:{port}",
            $"--Kestrel:Endpoints:Grpc:Certificate:Path={certificateFile}",
            $"--Kestrel:Endpoints:Grpc:Certificate:KeyPath={keyFile}",
            "--Authz:MetricsUrl=",
        })
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["Authz__Auth__BootstrapKey"] = TestKeys.Admin;
        var output = new ConcurrentQueue<string>();
        using var server = Process.Start(start)!;
        server.OutputDataReceived += (_, line) => output.Enqueue(line.Data ?? string.Empty);
        server.ErrorDataReceived += (_, line) => output.Enqueue(line.Data ?? string.Empty);
        server.BeginOutputReadLine();
        server.BeginErrorReadLine();
        try
        {
            using var trusting = Channel(new Uri($"https://127.0.0.1:{port}"), certificate);
            var client = new AuthorizationService.AuthorizationServiceClient(trusting);
            var deadline = DateTime.UtcNow.AddSeconds(60);
            CheckResponse? answer = null;
            while (answer is null)
            {
                try
                {
                    answer = await client.CheckAsync(Check("user:olivia", "deploy", "application:storefront-web"), deadline: DateTime.UtcNow.AddSeconds(5));
                }
                catch (RpcException e) when (e.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded && !server.HasExited && DateTime.UtcNow < deadline)
                {
                    await Task.Delay(200);
                }
            }

            Assert.Equal(Decision.Allowed, answer.Decision);

            using var plaintext = TestKeys.Channel(new Uri($"http://127.0.0.1:{port}"), TestKeys.Admin);
            var refused = await Assert.ThrowsAsync<RpcException>(() => new AuthorizationService.AuthorizationServiceClient(plaintext)
                .CheckAsync(Check("user:olivia", "deploy", "application:storefront-web"), deadline: DateTime.UtcNow.AddSeconds(10)).ResponseAsync);
            Assert.NotEqual(StatusCode.OK, refused.StatusCode);
        }
        finally
        {
            server.Kill(entireProcessTree: true);
            await server.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(15));
            folder.Delete(recursive: true);
        }
    }

    /// <summary>A channel that sends the admin key over TLS and trusts exactly <paramref name="trusted"/> (pinned, as a client with its own CA file would).</summary>
    private static GrpcChannel Channel(Uri address, X509Certificate2 trusted)
    {
        var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, presented, _, _) =>
            presented is not null && presented.GetCertHashString(HashAlgorithmName.SHA256) == trusted.GetCertHashString(HashAlgorithmName.SHA256);
        var bearer = CallCredentials.FromInterceptor((_, metadata) =>
        {
            metadata.Add("authorization", "Bearer " + TestKeys.Admin);
            return Task.CompletedTask;
        });
        return GrpcChannel.ForAddress(address, new GrpcChannelOptions { HttpHandler = handler, Credentials = ChannelCredentials.Create(ChannelCredentials.SecureSsl, bearer) });
    }

    private static X509Certificate2 SelfSignedLoopbackCertificate()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=authzgrpc-test", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
    }
}
