using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using AuthzGrpc.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace AuthzGrpc.Cli;

// The one path every server command takes: resolve the connection (flags, context, environment), open the channel,
// make the calls, and turn any failure into one line on stderr and an exit code (ExitCodes), never a stack trace.
internal sealed partial class AuthzCtl
{
    private Task<int> CallAsync(ParseResult result, Func<AuthorizationService.AuthorizationServiceClient, Task<int>> call) =>
        CallAsync(result, channel => call(new AuthorizationService.AuthorizationServiceClient(channel)));

    private async Task<int> CallAsync(ParseResult result, Func<GrpcChannel, Task<int>> call)
    {
        Target? target = null;
        try
        {
            target = globals.Of(result);
            using var channel = CreateChannel(target);
            return await call(channel);
        }
        catch (Exception e) when (LocalExit(e) is { } exit)
        {
            error.WriteLine(e.Message);
            return exit;
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Unavailable)
        {
            error.WriteLine($"cannot reach the server at {target?.Address} (start it with scripts/run.sh, or pass --server): {e.Status.Detail}");
            return ExitCodes.Unreachable;
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Unauthenticated)
        {
            var sent = string.IsNullOrEmpty(target?.Token) ? "no API key was sent" : "the API key sent was refused";
            error.WriteLine($"{e.StatusCode}: {e.Status.Detail} ({sent}: pass --token, set {TokenVariable}, use a context, or run where {TokenFile} is)");
            return ExitCodes.Refused;
        }
        catch (RpcException e)
        {
            error.WriteLine($"{e.StatusCode}: {e.Status.Detail}");
            return ExitCodes.Of(e.StatusCode);
        }
    }

    // A command that calls no server (context ...): local failures as CallAsync reports them.
    private int Local(Func<int> run)
    {
        try
        {
            return run();
        }
        catch (Exception e) when (LocalExit(e) is { } exit)
        {
            error.WriteLine(e.Message);
            return exit;
        }
    }

    // The exit code of a failure on this side: the command line's (usage) or a file's.
    private static int? LocalExit(Exception e) => e switch
    {
        FormatException or CommandLineException or CryptographicException => ExitCodes.Usage,
        IOException or UnauthorizedAccessException or JsonException or Core.Schema.SchemaException => ExitCodes.Failure,
        _ => null,
    };

    // Every call carries "authorization: Bearer <token>" when there is a token. Over plaintext h2c the call credentials
    // must be allowed explicitly: the key then travels unencrypted, which is what loopback h2c (or --insecure) means.
    private static GrpcChannel CreateChannel(Target target)
    {
        var secure = target.Address.Scheme == Uri.UriSchemeHttps;
        var options = new GrpcChannelOptions();
        if (target.CaFile is not null || target.CertFile is not null)
        {
            var ssl = new SslClientAuthenticationOptions();
            if (target.CaFile is { } caFile)
            {
                ssl.RemoteCertificateValidationCallback = TrustOnly(caFile);
            }

            if (target.CertFile is { } certFile)
            {
                ssl.ClientCertificates = [ClientCertificate(certFile, target.KeyFile!)];
            }

            options.HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true, SslOptions = ssl };
            options.DisposeHttpClient = true;
        }

        if (!string.IsNullOrEmpty(target.Token))
        {
            var bearer = CallCredentials.FromInterceptor((_, metadata) =>
            {
                metadata.Add("authorization", "Bearer " + target.Token);
                return Task.CompletedTask;
            });
            options.Credentials = ChannelCredentials.Create(secure ? ChannelCredentials.SecureSsl : ChannelCredentials.Insecure, bearer);
            options.UnsafeUseInsecureChannelCallCredentials = !secure;
        }

        return GrpcChannel.ForAddress(target.Address, options);
    }

    // --ca: the server's certificate must chain to a certificate of that PEM file (and only to it: the system's roots
    // are not consulted), and its name must match the address, as for any TLS connection.
    private static RemoteCertificateValidationCallback TrustOnly(string caFile)
    {
        var roots = new X509Certificate2Collection();
        roots.ImportFromPemFile(caFile);
        if (roots.Count == 0)
        {
            throw new CommandLineException($"--ca {caFile}: no certificate in the file (expected PEM)");
        }

        return (_, certificate, _, errors) =>
        {
            if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None)
            {
                return false;
            }

            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            chain.ChainPolicy.CustomTrustStore.AddRange(roots);
            using var leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
            return chain.Build(leaf);
        };
    }

    // --cert and --key. On Linux a key loaded from PEM is an ephemeral key, which TLS accepts for a client certificate.
    private static X509Certificate2 ClientCertificate(string certFile, string keyFile)
    {
        try
        {
            return X509Certificate2.CreateFromPemFile(certFile, keyFile);
        }
        catch (CryptographicException e)
        {
            throw new CommandLineException($"--cert {certFile} --key {keyFile}: {e.Message} (expected a PEM certificate and its PEM private key)");
        }
    }

    /// <summary>Where to call and with what: the address (scheme decided), the key, the CA to trust, the client certificate and its key.</summary>
    internal sealed record Target(Uri Address, string? Token, string? CaFile, string? CertFile, string? KeyFile);
}
