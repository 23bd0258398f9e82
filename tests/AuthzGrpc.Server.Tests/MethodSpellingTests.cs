using AuthzGrpc.Server.Tests.Infrastructure;
using AuthzGrpc.Storage.Tests.Infrastructure;
using AuthzGrpc.V1;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Grpc.Net.Client;

namespace AuthzGrpc.Server.Tests;

/// <summary>
/// The key-kind policy is decided on the method routing resolved, never on the spelling of the path: routing matches
/// method paths without regard to case (and ignores a trailing slash), so a check key once read the whole relationship
/// log through <c>/authz.v1.AuthorizationService/watch</c>. Every RPC (found in the service descriptors) is called
/// under several spellings with every kind of key and none.
/// </summary>
public sealed class MethodSpellingTests
{
    // The spellings of /service/method a client could send; each must answer as the declared name does, or UNIMPLEMENTED.
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
    public async Task EveryRpc_UnderEverySpelling_WithEveryKeyKind_AnswersAsItsDeclaredName_OrUnimplemented()
    {
        await using var database = TestDatabase.Create("sqlite");
        await using var server = await StoreServer.StartAsync(database);
        var callers = new List<(string Kind, GrpcChannel Channel)>
        {
            ("admin", server.Channel),
            ("management", await server.ChannelForAsync("user:olivia", KeyKind.Management)),
            ("check", await server.ChannelForAsync("user:olivia", KeyKind.Check)),
        };
        using var anonymous = server.ChannelWith(null);
        callers.Add(("no key", anonymous));

        var differences = new List<string>();
        foreach (var method in RpcCatalog.All)
        {
            foreach (var (kind, channel) in callers)
            {
                // An empty request: what decides the answer is the path and the key (most then fail validation).
                var (canonical, _) = await RpcCatalog.CallAsync(channel, method, []);
                foreach (var (spelling, path) in Spellings(method))
                {
                    var (answer, _) = await RpcCatalog.CallAsync(channel, method, [], path);
                    if (answer != canonical && answer != StatusCode.Unimplemented)
                    {
                        differences.Add($"{kind} key, {path} ({spelling}): {Name(answer)}, but {method.FullName} answers {Name(canonical)}");
                    }
                }
            }
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

    private static string Name(StatusCode code) => code == RpcCatalog.Open ? "a stream left open" : code.ToString();
}
