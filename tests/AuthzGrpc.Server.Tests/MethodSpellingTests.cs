using AuthzGrpc.Server.Tests.Infrastructure;
using AuthzGrpc.Storage.Tests.Infrastructure;
using AuthzGrpc.Testing;
using AuthzGrpc.V1;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Grpc.Net.Client;

namespace AuthzGrpc.Server.Tests;

/// <summary>
/// The key-kind policy is decided on the method routing resolved, never on the spelling of the path: routing matches
/// method paths without regard to case (and ignores a trailing slash), so a check key once read the whole relationship
/// log through <c>/authz.v1.AuthorizationService/watch</c>. Every RPC (found in the service descriptors) is called
/// under several other spellings with every kind of key and none: only the declared name reaches a method.
/// </summary>
public sealed class MethodSpellingTests
{
    // The spellings of /service/method a client could send that routing would resolve to the method: each is UNIMPLEMENTED.
    private static IEnumerable<(string Spelling, string Path)> Spellings(MethodDescriptor method)
    {
        var service = method.Service.FullName;
        var name = method.Name;
        yield return ("lower-case method", $"/{service}/{name.ToLowerInvariant()}");
        yield return ("upper-case method", $"/{service}/{name.ToUpperInvariant()}");
        yield return ("lower-case service", $"/{service.ToLowerInvariant()}/{name}");
        yield return ("upper-case everything", $"/{service.ToUpperInvariant()}/{name.ToUpperInvariant()}");
        yield return ("trailing slash", $"/{service}/{name}/");
        yield return ("lower-case with trailing slash", $"/{service}/{name.ToLowerInvariant()}/");
        yield return ("percent-encoded letter", $"/{service}/%{(int)name[0]:X2}{name[1..]}");
        yield return ("percent-encoded dot", $"/{service.Replace(".", "%2E", StringComparison.Ordinal)}/{name}");
        yield return ("double slash", $"/{service}//{name}");
    }

    [Fact]
    public async Task EveryRpc_UnderEveryOtherSpelling_WithEveryKeyKind_IsUnimplemented()
    {
        await using var database = TestDatabase.Create("sqlite");
        await using var server = await StoreServer.StartAsync(database);
        var keys = new ApiKeyService.ApiKeyServiceClient(server.Channel);
        var callers = new List<(string Kind, GrpcChannel Channel)> { ("admin key", SpellingChannel(server, TestKeys.Admin)), ("no key", SpellingChannel(server, null)) };
        foreach (var kind in new[] { KeyKind.Management, KeyKind.Check })
        {
            var created = await keys.CreateApiKeyAsync(new CreateApiKeyRequest { Subject = new SubjectRef { Object = new ObjectRef { Type = "user", Id = "olivia" } }, Kind = kind });
            callers.Add((kind.ToString().ToLowerInvariant() + " key", SpellingChannel(server, created.Key)));
        }

        var differences = new List<string>();
        foreach (var method in RpcCatalog.All)
        {
            foreach (var (kind, channel) in callers)
            {
                // An empty request: what decides the answer is the path and the key.
                foreach (var (spelling, path) in Spellings(method))
                {
                    var (answer, responses) = await RpcCatalog.CallAsync(channel, method, [], path, headers: new Metadata { { PathAsSpelled.Header, path } });
                    if (answer != StatusCode.Unimplemented || responses.Count > 0)
                    {
                        differences.Add($"{kind}, {path} ({spelling}): {Name(answer)} with {responses.Count} responses, not UNIMPLEMENTED");
                    }
                }
            }
        }

        foreach (var (_, channel) in callers)
        {
            channel.Dispose();
        }

        Assert.True(differences.Count == 0, string.Join('\n', differences));
        Assert.Contains(RpcCatalog.All, m => m.FullName == "authz.v1.AuthorizationService.Watch");
        server.AssertNoErrors();
    }

    [Theory]
    [InlineData("/authz.v1.AuthorizationService/watch", KeyKind.Check)]
    [InlineData("/authz.v1.authorizationservice/WATCH/", KeyKind.Management)]
    [InlineData("/authz.v1.ManagementService/watchevents", KeyKind.Management)]
    public async Task AdminOnlyStream_UnderAnotherSpelling_IsUnimplemented_AndStreamsNothing(string path, KeyKind kind)
    {
        await using var database = TestDatabase.Create("sqlite");
        await using var server = await StoreServer.StartAsync(database);
        var channel = await server.ChannelForAsync("user:olivia", kind);
        var method = RpcCatalog.All.Single(m => string.Equals($"/{m.Service.FullName}/{m.Name}", path.TrimEnd('/'), StringComparison.OrdinalIgnoreCase));

        var (answer, responses) = await RpcCatalog.CallAsync(channel, method, [], path);
        var (canonical, _) = await RpcCatalog.CallAsync(channel, method, []);

        Assert.Equal(StatusCode.Unimplemented, answer);
        Assert.Empty(responses);
        Assert.Equal(StatusCode.PermissionDenied, canonical);
    }

    private static GrpcChannel SpellingChannel(StoreServer server, string? key) =>
        TestKeys.Channel(server.Address, key, new PathAsSpelled(new SocketsHttpHandler()));

    /// <summary>
    /// Sends a call to the path in its <see cref="Header"/> exactly as written: the client builds the request's
    /// <see cref="Uri"/> from the method's name, and a <see cref="Uri"/> unescapes <c>%53</c> to <c>S</c>, so without
    /// this a percent-encoded spelling would reach the server as the declared name.
    /// </summary>
    private sealed class PathAsSpelled(HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        public const string Header = "x-test-path-as-spelled";

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.Headers.TryGetValues(Header, out var values) && request.RequestUri is { } uri)
            {
                var asWritten = new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true };
                request.RequestUri = new Uri(uri.GetLeftPart(UriPartial.Authority) + values.Single(), in asWritten);
                request.Headers.Remove(Header);
            }

            return base.SendAsync(request, cancellationToken);
        }
    }

    private static string Name(StatusCode code) => code == RpcCatalog.Open ? "a stream left open" : code.ToString();
}
