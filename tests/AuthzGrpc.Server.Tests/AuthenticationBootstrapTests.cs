using AuthzGrpc.Server.Hosting;
using AuthzGrpc.Server.Tests.Infrastructure;
using AuthzGrpc.Storage;
using AuthzGrpc.Testing;
using AuthzGrpc.V1;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AuthzGrpc.Server.Tests;

/// <summary>
/// The bootstrap admin key: generated into <c>bootstrap.key</c> when none is configured and none is stored, or taken
/// from <c>Authz:Auth:BootstrapKey</c>; each test starts its own servers on a database of its own.
/// </summary>
public sealed class AuthenticationBootstrapTests : IDisposable
{
    private const string ConfiguredKey = "azk_ops0001_Configured-Bootstrap_Key-For-The-Ops-Team-01";
    private readonly string _folder = Directory.CreateTempSubdirectory("authz-bootstrap-").FullName;

    private string KeyFile => Path.Combine(_folder, "data", AuthOptions.BootstrapKeyFileName);

    [Fact]
    public async Task NoConfiguredKey_GeneratesAnAdminKeyFile_ReadableByTheOwnerOnly_AndLogsItsPathNotTheKey()
    {
        var logs = new LogCapture();
        await using var app = await StartAsync(logs, Settings(key: string.Empty));

        var key = (await File.ReadAllTextAsync(KeyFile)).Trim();

        Assert.Matches("^azk_[a-z0-9]{12}_[A-Za-z0-9_-]{43}$", key);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(KeyFile));
        }

        var generated = Assert.Single(logs.Since(0), e => e.EventId.Name == "BootstrapKeyGenerated");
        Assert.Equal(LogLevel.Warning, generated.Level);
        Assert.Contains(KeyFile, generated.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(TestKeys.SecretOf(key), string.Join("\n", logs.Since(0)), StringComparison.Ordinal);

        using var channel = TestKeys.Channel(app.Address, key);
        var listed = Assert.Single((await new ApiKeyService.ApiKeyServiceClient(channel).ListApiKeysAsync(new ListApiKeysRequest())).ApiKeys);
        Assert.Equal((KeyKind.Admin, TestKeys.AdminSubject), (listed.Kind, Requests.Text(listed.Subject)));
        Assert.StartsWith($"azk_{listed.KeyId}_", key, StringComparison.Ordinal);
        Assert.Empty(logs.ErrorsSince(0));
    }

    [Fact]
    public async Task Restart_KeepsTheGeneratedKey_AndGeneratesNoOther()
    {
        string key;
        await using (var first = await StartAsync(new LogCapture(), Settings(key: string.Empty)))
        {
            key = await File.ReadAllTextAsync(KeyFile);
        }

        var logs = new LogCapture();
        await using var second = await StartAsync(logs, Settings(key: string.Empty));

        Assert.Equal(key, await File.ReadAllTextAsync(KeyFile));
        Assert.DoesNotContain(logs.Since(0), e => e.EventId.Name == "BootstrapKeyGenerated");
        Assert.Contains(logs.Since(0), e => e.EventId.Name == "AdminKeyExists");
        using var channel = TestKeys.Channel(second.Address, key.Trim());
        Assert.Single((await new ApiKeyService.ApiKeyServiceClient(channel).ListApiKeysAsync(new ListApiKeysRequest())).ApiKeys);
    }

    [Fact]
    public async Task ConfiguredKey_IsStoredForItsSubject_AndNoKeyFileIsWritten()
    {
        var settings = Settings(key: ConfiguredKey);
        settings["Authz:Auth:BootstrapSubject"] = "user:ops";
        var logs = new LogCapture();
        await using var app = await StartAsync(logs, settings);
        using var channel = TestKeys.Channel(app.Address, ConfiguredKey);

        var listed = Assert.Single((await new ApiKeyService.ApiKeyServiceClient(channel).ListApiKeysAsync(new ListApiKeysRequest())).ApiKeys);

        Assert.Equal(("ops0001", KeyKind.Admin, "user:ops"), (listed.KeyId, listed.Kind, Requests.Text(listed.Subject)));
        Assert.False(File.Exists(KeyFile));
        Assert.DoesNotContain("Configured-Bootstrap_Key", string.Join("\n", logs.Since(0)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConfiguredKey_WithANewSecret_ReplacesTheOldOneAtRestart_AndIsAuditedOnlyWhenItChanges()
    {
        var replaced = ConfiguredKey[..^2] + "02";
        await using (var first = await StartAsync(new LogCapture(), Settings(key: ConfiguredKey)))
        {
        }

        await using (var same = await StartAsync(new LogCapture(), Settings(key: ConfiguredKey)))
        {
        }

        await using var app = await StartAsync(new LogCapture(), Settings(key: replaced));
        using var oldChannel = TestKeys.Channel(app.Address, ConfiguredKey);
        using var newChannel = TestKeys.Channel(app.Address, replaced);

        Assert.Equal(StatusCode.Unauthenticated, (await ServiceCalls.StatusOfAsync(oldChannel, "ApiKeyService/ListApiKeys")).StatusCode);
        Assert.Equal(StatusCode.OK, (await ServiceCalls.StatusOfAsync(newChannel, "ApiKeyService/ListApiKeys")).StatusCode);
        var audit = (await app.Store.Audit.ReadAsync()).Where(e => e.Target == "api_key:ops0001").ToList();
        Assert.Equal(2, audit.Count); // the first start and the new secret; the unchanged restart recorded nothing
        Assert.All(audit, e => Assert.Equal(("ConfigureApiKey", "system"), (e.Operation, e.Actor)));
    }

    public static TheoryData<string, string, string, string> BadSettings => new()
    {
        { "BootstrapKey", "azk_short", "Authz:Auth:BootstrapKey is not an API key", "azk_short" },
        { "BootstrapKey", "azk_Upper_" + new string('s', 40), "Authz:Auth:BootstrapKey is not an API key", new string('s', 40) },
        { "BootstrapKey", "just-a-password-that-is-long-enough-to-matter", "Authz:Auth:BootstrapKey is not an API key", "just-a-password" },
        { "BootstrapSubject", "admin", "Authz:Auth:BootstrapSubject", "\u0000" },
        { "BootstrapSubject", "group:eng#member", "Authz:Auth:BootstrapSubject 'group:eng#member' must be one object", "\u0000" },
        { "KeyCacheSeconds", "-1", "Authz:Auth:KeyCacheSeconds is -1", "\u0000" },
    };

    [Theory]
    [MemberData(nameof(BadSettings))]
    public async Task BadAuthSettings_StopTheServer_NamingTheSetting_WithoutEchoingAKey(string setting, string value, string message, string secret)
    {
        var settings = Settings(key: ConfiguredKey);
        settings[$"Authz:Auth:{setting}"] = value;
        var logs = new LogCapture();

        var error = await Assert.ThrowsAsync<ModelLoadException>(() => ServerFixture.BuildServerAsync(logs, settings));

        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, error.Message, StringComparison.Ordinal);
        Assert.Contains(logs.Since(0), e => e.Level == LogLevel.Critical && e.EventId.Name == "AuthenticationSetupFailed");
    }

    [Fact]
    public async Task ServerProcess_AsRunShStartsIt_WritesTheKeyFile_AndNeverPrintsTheKey()
    {
        await using var server = await ServerProcess.StartAsync();
        using var anonymous = TestKeys.Channel(server.Address, null);

        var allowed = await ServiceCalls.StatusOfAsync(server.Channel, "ApiKeyService/ListApiKeys");
        var refused = await ServiceCalls.StatusOfAsync(anonymous, "AuthorizationService/Check");

        Assert.NotNull(server.Key);
        Assert.Equal(StatusCode.OK, allowed.StatusCode);
        Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(server.KeyFile));
        }

        Assert.Contains(server.KeyFile, server.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(TestKeys.SecretOf(server.Key), server.Output, StringComparison.Ordinal);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    private static async Task<Running> StartAsync(LogCapture logs, Dictionary<string, string?> settings)
    {
        var app = await ServerFixture.BuildServerAsync(logs, settings);
        await app.StartAsync();
        return new Running(app);
    }

    private Dictionary<string, string?> Settings(string key) => new()
    {
        ["Authz:SchemaFile"] = ServerFixture.ModelPath("default.zed"),
        ["Authz:RelationshipsFile"] = ServerFixture.ModelPath("default.relationships"),
        ["Authz:Storage:ConnectionString"] = $"Data Source={Path.Combine(_folder, "data", "authz.db")}",
        ["Authz:Auth:BootstrapKey"] = key,
    };

    // A started server, stopped and disposed together.
    private sealed class Running(WebApplication app) : IAsyncDisposable
    {
        public Uri Address { get; } = new(app.Urls.Single());

        public AuthzStore Store => app.Services.GetRequiredService<AuthzStore>();

        public async ValueTask DisposeAsync()
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}
