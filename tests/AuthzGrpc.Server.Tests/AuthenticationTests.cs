using System.Security.Cryptography;
using System.Text;
using AuthzGrpc.Server.Tests.Infrastructure;
using AuthzGrpc.Testing;
using AuthzGrpc.V1;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Reflection.V1Alpha;
using static AuthzGrpc.Server.Tests.Infrastructure.Requests;

namespace AuthzGrpc.Server.Tests;

/// <summary>
/// API key authentication on the shared server (its bootstrap admin key is <see cref="TestKeys.Admin"/>): every call but
/// health and reflection needs a valid key, and the key's kind limits the services it may call. Nothing here writes
/// the model, so the shared server stays at revision 1.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class AuthenticationTests(ServerFixture server) : ServerTest(server)
{
    private const string Hint = "send 'authorization: Bearer azk_...'";

    public static TheoryData<string> AllMethods => ServiceCalls.AllMethods;

    // Each a value of the authorization metadata that must not authenticate.
    public static TheoryData<string> BadCredentials =>
    [
        "",
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNzd29yZA==",
        TestKeys.Admin,                                              // the right key without the scheme
        "Bearer not-a-key",
        "Bearer azk_testadmin01",                                    // no secret
        "Bearer azk_testadmin01_short",                              // a secret too short
        "Bearer azk_TESTADMIN01_" + TestKeys.AdminSecret,            // a key id in capitals
        "Bearer azk_testadmin01_" + TestKeys.AdminSecret + "!",      // a character outside base64url
        "Bearer azk_nosuchkey0001_" + TestKeys.AdminSecret,          // an unknown key id
        "Bearer azk_testadmin01_" + new string('A', TestKeys.AdminSecret.Length), // the right id, a wrong secret
        "Bearer azk_testadmin01_" + TestKeys.AdminSecret[..^1] + "X",             // one character off
        "Bearer " + new string('a', 10_000),
    ];

    [Theory]
    [MemberData(nameof(AllMethods))]
    public async Task NoKey_EveryService_IsUnauthenticated_SayingWhatToSend(string method)
    {
        using var channel = Server.ChannelWith(null);

        var status = await ServiceCalls.StatusOfAsync(channel, method);

        Assert.Equal(StatusCode.Unauthenticated, status.StatusCode);
        Assert.Contains("missing credentials", status.Detail, StringComparison.Ordinal);
        Assert.Contains(Hint, status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NoKey_HealthAndReflection_Answer()
    {
        using var channel = Server.ChannelWith(null);

        var health = await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest());
        using var reflection = new ServerReflection.ServerReflectionClient(channel).ServerReflectionInfo();
        await reflection.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = string.Empty });
        await reflection.RequestStream.CompleteAsync();
        var services = (await reflection.ResponseStream.ReadAllAsync().ToListAsync()).Single().ListServicesResponse.Service.Select(s => s.Name);

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Status);
        Assert.Contains("authz.v1.ApiKeyService", services);
    }

    [Theory]
    [MemberData(nameof(BadCredentials))]
    public async Task BadOrUnknownKey_IsUnauthenticated(string authorization)
    {
        using var channel = Server.ChannelWith(null);
        var headers = new Metadata { { "authorization", authorization } };

        var check = await ServiceCalls.StatusOfAsync(channel, "AuthorizationService/Check", headers);
        var schema = await ServiceCalls.StatusOfAsync(channel, "SchemaService/ReadSchema", headers);

        Assert.Equal((StatusCode.Unauthenticated, StatusCode.Unauthenticated), (check.StatusCode, schema.StatusCode));
        Assert.Contains(Hint, check.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain(TestKeys.AdminSecret, check.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BearerScheme_IsCaseInsensitive_AndSpacesAroundTheKeyAreIgnored()
    {
        using var channel = Server.ChannelWith(null);

        var status = await ServiceCalls.StatusOfAsync(channel, "SchemaService/ReadSchema", new Metadata { { "authorization", $"  bearer   {TestKeys.Admin} " } });

        Assert.Equal(StatusCode.OK, status.StatusCode);
    }

    [Fact]
    public async Task TwoAuthorizationHeaders_AreUnauthenticated_EvenWhenBothCarryTheSameValidKey()
    {
        // Which key would act is ambiguous: neither does. (The client joins the two into one comma-separated field,
        // as the server joins two fields: either way no key has a comma.)
        using var channel = Server.ChannelWith(null);
        var headers = new Metadata { { "authorization", $"Bearer {TestKeys.Admin}" }, { "authorization", $"Bearer {TestKeys.Admin}" } };

        var check = await ServiceCalls.StatusOfAsync(channel, "AuthorizationService/Check", headers);
        var schema = await ServiceCalls.StatusOfAsync(channel, "SchemaService/ReadSchema", headers);

        Assert.Equal((StatusCode.Unauthenticated, StatusCode.Unauthenticated), (check.StatusCode, schema.StatusCode));
        Assert.Contains("the API key is malformed", check.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CallsTakingTurnsOnOneConnection_EachActAsTheirOwnKey_AndAFailedOneAsNoOne()
    {
        // The caller is kept on the request's features, which Kestrel reuses from one request to the next on a
        // connection: each call must see its own key's subject, never the previous call's.
        var (check, created) = await CreateKeyAsync("user:olivia", KeyKind.Check, "sidecar");
        using var channel = Server.ChannelWith(null);
        var client = new AuthorizationService.AuthorizationServiceClient(channel);
        var asAdmin = new Metadata { { "authorization", $"Bearer {TestKeys.Admin}" } };
        var asOlivia = new Metadata { { "authorization", $"Bearer {check}" } };

        for (var i = 0; i < 20; i++)
        {
            var admin = await client.WhoAmIAsync(new WhoAmIRequest(), asAdmin);
            var olivia = await client.WhoAmIAsync(new WhoAmIRequest(), asOlivia);
            var nobody = await Assert.ThrowsAsync<RpcException>(async () => await client.WhoAmIAsync(new WhoAmIRequest()));

            Assert.Equal((TestKeys.AdminSubject, KeyKind.Admin), ($"{admin.Subject.Object.Type}:{admin.Subject.Object.Id}", admin.Kind));
            Assert.Equal(("user:olivia", KeyKind.Check, created.KeyId), ($"{olivia.Subject.Object.Type}:{olivia.Subject.Object.Id}", olivia.Kind, olivia.KeyId));
            Assert.Equal(StatusCode.Unauthenticated, nobody.StatusCode);
        }
    }

    [Theory]
    [MemberData(nameof(AllMethods))]
    public async Task AdminKey_PassesAuthenticationOnEveryService(string method)
    {
        if (method is "SchemaService/WriteSchema" or "RelationshipService/WriteRelationships" or "RelationshipService/DeleteRelationships")
        {
            // Writes would change the shared model: AuthenticationStoreTests makes them on a server of its own.
            return;
        }

        var status = await ServiceCalls.StatusOfAsync(Server.Channel, method);

        // RevokeApiKey of an unknown id answers NOT_FOUND: past authentication, the service itself answered.
        Assert.Equal(method == "ApiKeyService/RevokeApiKey" ? StatusCode.NotFound : StatusCode.OK, status.StatusCode);
    }

    [Theory]
    [MemberData(nameof(AllMethods))]
    public async Task CheckKey_MayCallAuthorizationServiceOnly(string method)
    {
        var (key, _) = await CreateKeyAsync("user:olivia", KeyKind.Check, "sidecar");
        using var channel = Server.ChannelWith(key);

        var status = await ServiceCalls.StatusOfAsync(channel, method);

        if (method.StartsWith("AuthorizationService/", StringComparison.Ordinal))
        {
            Assert.Equal(StatusCode.OK, status.StatusCode);
        }
        else
        {
            Assert.Equal(StatusCode.PermissionDenied, status.StatusCode);
            Assert.Equal(
                $"check-only keys cannot call authz.v1.{method}: they may call authz.v1.AuthorizationService only; use a management or admin key",
                status.Detail);
        }
    }

    [Theory]
    [MemberData(nameof(AllMethods))]
    public async Task ManagementKey_MayCallAuthorizationAndManagement_NotSchemaRelationshipsOrKeys(string method)
    {
        var (key, _) = await CreateKeyAsync("user:olivia", KeyKind.Management, "console");
        using var channel = Server.ChannelWith(key);

        var status = await ServiceCalls.StatusOfAsync(channel, method);

        if (method.StartsWith("AuthorizationService/", StringComparison.Ordinal) || method.StartsWith("ManagementService/", StringComparison.Ordinal))
        {
            // Past authentication: Management calls are then the model's to allow or refuse for user:olivia.
            Assert.DoesNotContain("keys cannot call", status.Detail, StringComparison.Ordinal);
            Assert.NotEqual(StatusCode.Unauthenticated, status.StatusCode);
        }
        else
        {
            Assert.Equal(StatusCode.PermissionDenied, status.StatusCode);
            Assert.StartsWith($"management keys cannot call authz.v1.{method}: ", status.Detail, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task CreatedKey_WorksAtOnce_AndRevokedKey_StopsAtOnce()
    {
        var (key, created) = await CreateKeyAsync("user:olivia", KeyKind.Check, "to revoke");
        using var channel = Server.ChannelWith(key);
        var client = new AuthorizationService.AuthorizationServiceClient(channel);
        var before = await client.CheckAsync(Check("user:olivia", "deploy", "application:storefront-web"));
        await client.CheckAsync(Check("user:alex", "deploy", "application:storefront-web")); // cached now

        var revoked = await Keys.RevokeApiKeyAsync(new RevokeApiKeyRequest { KeyId = created.KeyId });
        var after = await Assert.ThrowsAsync<RpcException>(() => client.CheckAsync(Check("user:olivia", "deploy", "application:storefront-web")).ResponseAsync);

        Assert.Equal(Decision.Allowed, before.Decision);
        Assert.NotNull(revoked.ApiKey.RevokedAt);
        Assert.Equal(StatusCode.Unauthenticated, after.StatusCode);
        Assert.Contains($"the API key {created.KeyId} was revoked", after.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RevokeTwice_ChangesNothingTheSecondTime()
    {
        var (_, created) = await CreateKeyAsync("user:olivia", KeyKind.Check, "twice");

        var first = await Keys.RevokeApiKeyAsync(new RevokeApiKeyRequest { KeyId = created.KeyId });
        var second = await Keys.RevokeApiKeyAsync(new RevokeApiKeyRequest { KeyId = created.KeyId });

        Assert.Equal(first.ApiKey, second.ApiKey);
        var events = (await Server.Store.Audit.ReadAsync(limit: 100_000)).Where(e => e.Target == $"api_key:{created.KeyId}").ToList();
        Assert.Equal(["CreateApiKey", "RevokeApiKey"], events.Select(e => e.Operation));
    }

    [Fact]
    public async Task CreateAndRevoke_AreAudited_AsTheCaller_WithoutTheSecretOrItsHash()
    {
        var (key, created) = await CreateKeyAsync("user:victor", KeyKind.Management, "audited");
        await Keys.RevokeApiKeyAsync(new RevokeApiKeyRequest { KeyId = created.KeyId });

        var events = (await Server.Store.Audit.ReadAsync(limit: 100_000)).Where(e => e.Target == $"api_key:{created.KeyId}").ToList();

        Assert.Equal(["CreateApiKey", "RevokeApiKey"], events.Select(e => e.Operation));
        Assert.All(events, e => Assert.Equal(TestKeys.AdminSubject, e.Actor));
        Assert.All(events, e => Assert.Equal(1, e.Revision)); // key changes are audited at the revision in force; they make none
        Assert.Null(events[0].Before);
        Assert.Contains("\"subject\":\"user:victor\"", events[0].After, StringComparison.Ordinal);
        Assert.Contains("\"kind\":\"management\"", events[0].After, StringComparison.Ordinal);
        Assert.Contains("\"revoked_at\":null", events[1].Before, StringComparison.Ordinal);
        Assert.DoesNotContain("\"revoked_at\":null", events[1].After, StringComparison.Ordinal);
        var secret = TestKeys.SecretOf(key);
        foreach (var text in events.SelectMany(e => new[] { e.Before, e.After, e.Target }).OfType<string>())
        {
            Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
            Assert.DoesNotContain(Sha256Hex(secret), text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task ListApiKeys_DescribesKeys_NeverTheirSecrets()
    {
        var (key, created) = await CreateKeyAsync("user:nina", KeyKind.Check, "nina's sidecar");

        var all = await Keys.ListApiKeysAsync(new ListApiKeysRequest());
        var nina = await Keys.ListApiKeysAsync(new ListApiKeysRequest { Subject = Subject("user:nina") });

        var listed = Assert.Single(nina.ApiKeys);
        Assert.Equal(created, listed);
        Assert.Equal(("user:nina", KeyKind.Check, "nina's sidecar"), (Text(listed.Subject), listed.Kind, listed.Description));
        Assert.Null(listed.RevokedAt);
        Assert.Contains(all.ApiKeys, k => k.KeyId == "testadmin01" && k.Kind == KeyKind.Admin && Text(k.Subject) == TestKeys.AdminSubject);
        Assert.True(listed.CreatedAt.ToDateTime() > DateTime.UtcNow.AddMinutes(-5));
        var secret = TestKeys.SecretOf(key);
        var wire = Encoding.ASCII.GetString(all.ToByteArray()) + JsonFormatter.Default.Format(all);
        Assert.DoesNotContain(secret, wire, StringComparison.Ordinal);
        Assert.DoesNotContain(TestKeys.AdminSecret, wire, StringComparison.Ordinal);
        Assert.DoesNotContain(Sha256Hex(secret), wire, StringComparison.Ordinal);
        Assert.DoesNotContain(Sha256Hex(TestKeys.AdminSecret), wire, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CreateApiKey_ReturnsAKeyOfTheDocumentedShape()
    {
        var (key, created) = await CreateKeyAsync("user:olivia", KeyKind.Admin, string.Empty);

        Assert.Matches("^azk_[a-z0-9]{12}_[A-Za-z0-9_-]{43}$", key);
        Assert.StartsWith($"azk_{created.KeyId}_", key, StringComparison.Ordinal);
        Assert.Equal(KeyKind.Admin, created.Kind);
    }

    public static TheoryData<string, string> BadCreateRequests => new()
    {
        { "{}", "subject" },
        { """{"subject":{"object":{"type":"user","id":"olivia"}}}""", "kind" },
        { """{"subject":{"object":{"type":"user","id":"olivia"},"relation":"member"},"kind":"KEY_KIND_CHECK"}""", "subject.relation" },
        { """{"subject":{"object":{"type":"user","id":"*"}},"kind":"KEY_KIND_CHECK"}""", "subject.object.id" },
        { """{"subject":{"object":{"type":"user","id":"a b"}},"kind":"KEY_KIND_CHECK"}""", "subject.object.id" },
        { """{"subject":{"object":{"type":"User","id":"olivia"}},"kind":"KEY_KIND_CHECK"}""", "subject.object.type" },
        { """{"subject":{"object":{"type":"robot","id":"r2"}},"kind":"KEY_KIND_CHECK"}""", "subject.object.type" },
        { """{"subject":{"object":{"type":"user","id":"olivia"}},"kind":7}""", "kind" },
        { """{"subject":{"object":{"type":"user","id":"olivia"}},"kind":"KEY_KIND_CHECK","description":"DESCRIPTION"}""", "description" },
    };

    [Theory]
    [MemberData(nameof(BadCreateRequests))]
    public async Task CreateApiKey_BadRequest_IsInvalidArgument_NamingTheField(string json, string field)
    {
        var request = JsonParser.Default.Parse<CreateApiKeyRequest>(json.Replace("DESCRIPTION", new string('d', 257), StringComparison.Ordinal));
        var before = (await Keys.ListApiKeysAsync(new ListApiKeysRequest())).ApiKeys.Count;

        var error = await Assert.ThrowsAsync<RpcException>(() => Keys.CreateApiKeyAsync(request).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.StartsWith(field + ":", error.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(before, (await Keys.ListApiKeysAsync(new ListApiKeysRequest())).ApiKeys.Count);
    }

    [Theory]
    [InlineData("", StatusCode.InvalidArgument)]
    [InlineData("azk_abc_def", StatusCode.InvalidArgument)]
    [InlineData("ABC", StatusCode.InvalidArgument)]
    [InlineData("nosuchkey", StatusCode.NotFound)]
    public async Task RevokeApiKey_BadOrUnknownId_IsRefused(string keyId, StatusCode expected)
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => Keys.RevokeApiKeyAsync(new RevokeApiKeyRequest { KeyId = keyId }).ResponseAsync);

        Assert.Equal(expected, error.StatusCode);
        Assert.StartsWith("key_id:", error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Keys_NeverAppearInTheServerLog()
    {
        var (key, created) = await CreateKeyAsync("user:olivia", KeyKind.Check, "logged?");
        using (var channel = Server.ChannelWith(key))
        {
            await new AuthorizationService.AuthorizationServiceClient(channel).CheckAsync(Check("user:olivia", "deploy", "application:storefront-web"));
            await ServiceCalls.StatusOfAsync(channel, "SchemaService/ReadSchema");
        }

        await Keys.RevokeApiKeyAsync(new RevokeApiKeyRequest { KeyId = created.KeyId });
        using (var channel = Server.ChannelWith(key))
        {
            await ServiceCalls.StatusOfAsync(channel, "AuthorizationService/Check");
        }

        using (var channel = Server.ChannelWith(null))
        {
            await ServiceCalls.StatusOfAsync(channel, "AuthorizationService/Check", new Metadata { { "authorization", "Bearer azk_testadmin01_" + new string('Q', 40) } });
        }

        var log = string.Join("\n", Server.Logs.Since(0));
        var secret = TestKeys.SecretOf(key);
        Assert.Contains(created.KeyId, log, StringComparison.Ordinal); // the id is logged (ApiKeyCreated, refusals) ...
        Assert.DoesNotContain(secret, log, StringComparison.Ordinal); // ... the secrets never
        Assert.DoesNotContain(TestKeys.AdminSecret, log, StringComparison.Ordinal);
        Assert.DoesNotContain(new string('Q', 40), log, StringComparison.Ordinal);
        Assert.DoesNotContain(Sha256Hex(secret), log, StringComparison.Ordinal);
    }

    private ApiKeyService.ApiKeyServiceClient Keys => new(Server.Channel);

    private async Task<(string Key, ApiKey Created)> CreateKeyAsync(string subject, KeyKind kind, string description)
    {
        var response = await Keys.CreateApiKeyAsync(new CreateApiKeyRequest { Subject = Subject(subject), Kind = kind, Description = description });
        return (response.Key, response.ApiKey);
    }

    private static string Sha256Hex(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes(secret)));
}
