using Grpc.Core;
using Grpc.Net.Client;

namespace AuthzGrpc.Testing;

/// <summary>The API keys of the test servers and channels that send them.</summary>
public static class TestKeys
{
    /// <summary>
    /// The bootstrap admin key the in-process test servers are configured with (<c>Authz:Auth:BootstrapKey</c>), acting
    /// as <see cref="AdminSubject"/>.
    /// </summary>
    public const string Admin = "azk_testadmin01_" + AdminSecret;

    /// <summary>The secret part of <see cref="Admin"/>.</summary>
    public const string AdminSecret = "T3st-Bootstrap_Secret-0f-The-Test-Servers";

    /// <summary>The subject of <see cref="Admin"/> (the server's default bootstrap subject).</summary>
    public const string AdminSubject = "user:admin";

    /// <summary>The secret of <c>azk_&lt;id&gt;_&lt;secret&gt;</c>: everything after the id (the secret may hold '_' itself).</summary>
    public static string SecretOf(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return key[(key.IndexOf('_', "azk_".Length) + 1)..];
    }

    /// <summary>
    /// A channel to <paramref name="address"/> whose every call carries <c>authorization: Bearer <paramref name="key"/></c>
    /// (none when <paramref name="key"/> is null), sent through <paramref name="handler"/> when one is given. Plaintext h2c
    /// needs <c>UnsafeUseInsecureChannelCallCredentials</c>.
    /// </summary>
    public static GrpcChannel Channel(Uri address, string? key, HttpMessageHandler? handler = null)
    {
        ArgumentNullException.ThrowIfNull(address);
        var options = new GrpcChannelOptions { HttpHandler = handler };
        if (key is not null)
        {
            var bearer = CallCredentials.FromInterceptor((_, metadata) =>
            {
                metadata.Add("authorization", "Bearer " + key);
                return Task.CompletedTask;
            });
            var transport = address.Scheme == Uri.UriSchemeHttps ? ChannelCredentials.SecureSsl : ChannelCredentials.Insecure;
            options.Credentials = ChannelCredentials.Create(transport, bearer);
            options.UnsafeUseInsecureChannelCallCredentials = true;
        }

        return GrpcChannel.ForAddress(address, options);
    }
}
