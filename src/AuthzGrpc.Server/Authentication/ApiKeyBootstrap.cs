using AuthzGrpc.Core.Model;
using AuthzGrpc.Server.Hosting;
using AuthzGrpc.Storage;
using Microsoft.Extensions.Options;

namespace AuthzGrpc.Server.Authentication;

/// <summary>
/// Makes sure someone can administer the server, at start, before it listens:
/// <list type="bullet">
/// <item>with <c>Authz:Auth:BootstrapKey</c> configured, that key is stored (hashed) as a valid admin key of
/// <c>Authz:Auth:BootstrapSubject</c>, at every start (so changing the configuration replaces its secret);</item>
/// <item>without it, when the database holds no valid admin key (a new database, or every admin key revoked), a new
/// admin key is generated and written to <c>bootstrap.key</c> in the data folder, readable by the server's user only,
/// and its path (never the key) is logged at Warning. An admin key that exists is never replaced, so restarts are
/// safe.</item>
/// </list>
/// Unusable settings stop the server with one Critical log line, as an unusable model does.
/// </summary>
internal sealed class ApiKeyBootstrap(IOptions<AuthzOptions> options, AuthzStore store, ApiKeyAuthenticator authenticator, ILogger<ApiKeyBootstrap> logger)
{
    /// <summary>Stores or generates the bootstrap admin key; throws <see cref="ModelLoadException"/> (after logging it) when it cannot.</summary>
    public async Task RunAsync(CancellationToken cancellationToken = default)
    {
        var settings = options.Value.Auth;
        if (settings.KeyCacheSeconds is < 0 or > 3600)
        {
            throw Fail($"Authz:Auth:KeyCacheSeconds is {settings.KeyCacheSeconds}: use 0 to 3600", null);
        }

        SubjectRef subject;
        try
        {
            subject = SubjectRef.Parse(settings.BootstrapSubject ?? string.Empty);
        }
        catch (FormatException e)
        {
            throw Fail($"Authz:Auth:BootstrapSubject: {e.Message}", e);
        }

        if (subject.IsSubjectSet || subject.IsWildcard)
        {
            throw Fail($"Authz:Auth:BootstrapSubject '{subject}' must be one object, type:id (e.g. {AuthOptions.DefaultBootstrapSubject})", null);
        }

        try
        {
            if (!string.IsNullOrEmpty(settings.BootstrapKey))
            {
                await ConfigureAsync(settings.BootstrapKey, subject, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await GenerateIfNoneAsync(subject, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is not ModelLoadException and not OperationCanceledException)
        {
            throw Fail($"cannot store the bootstrap admin key in the {store.Database.Provider} storage at {store.Database.Location}: {e.Message}", e);
        }
    }

    /// <summary>The folder that receives <c>bootstrap.key</c>: the SQLite file's folder, else the working folder.</summary>
    public static string DataFolder(AuthzStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        if (store.Database.Provider == StorageProvider.Sqlite && Path.GetDirectoryName(store.Database.Location) is { Length: > 0 } folder && Path.IsPathRooted(store.Database.Location))
        {
            return folder;
        }

        return Directory.GetCurrentDirectory();
    }

    private async Task ConfigureAsync(string key, SubjectRef subject, CancellationToken cancellationToken)
    {
        // Never echo the configured value: it is a secret.
        if (!ApiKeyFormat.TryParse(key.Trim(), out var keyId, out var secret))
        {
            throw Fail(
                $"Authz:Auth:BootstrapKey is not an API key: expected azk_<id>_<secret> with an id of 1 to {ApiKeyFormat.MaxKeyIdLength} of a-z 0-9 " +
                $"and a secret of {ApiKeyFormat.MinSecretLength} to {ApiKeyFormat.MaxSecretLength} of A-Z a-z 0-9 _ -", null);
        }

        var hash = ApiKeyFormat.Hash(secret);
        var (_, changed) = await store.ApiKeys.ConfigureAsync(
            new NewApiKey(keyId, hash, subject, ApiKeyKinds.Admin, "bootstrap admin key (Authz:Auth:BootstrapKey)"), ModelLoader.SystemActor, cancellationToken)
            .ConfigureAwait(false);
        authenticator.Invalidate(keyId);
        Log.BootstrapKeyConfigured(logger, keyId, subject, changed);
    }

    private async Task GenerateIfNoneAsync(SubjectRef subject, CancellationToken cancellationToken)
    {
        var path = Path.Combine(DataFolder(store), AuthOptions.BootstrapKeyFileName);
        var (key, keyId, hash) = ApiKeyFormat.Generate();
        var created = await store.ApiKeys.CreateAdminKeyIfNoneAsync(
            new NewApiKey(keyId, hash, subject, ApiKeyKinds.Admin, $"bootstrap admin key (generated into {AuthOptions.BootstrapKeyFileName})"),
            _ => WriteKeyFileAsync(path, key),
            ModelLoader.SystemActor,
            cancellationToken).ConfigureAwait(false);
        if (created is null)
        {
            Log.AdminKeyExists(logger);
            return;
        }

        Log.BootstrapKeyGenerated(logger, path, keyId, subject);
    }

    // Written to a new file readable by the owner only (0600), then moved over any older one, so the key is never in a
    // file others can read, not even for a moment.
    private static async Task WriteKeyFileAsync(string path, string key)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temporary = path + ".tmp";
        File.Delete(temporary);
        var fileOptions = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            fileOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        var stream = new FileStream(temporary, fileOptions);
        await using (stream.ConfigureAwait(false))
        {
            var writer = new StreamWriter(stream);
            await using (writer.ConfigureAwait(false))
            {
                await writer.WriteLineAsync(key).ConfigureAwait(false);
            }
        }

        File.Move(temporary, path, overwrite: true);
    }

    private ModelLoadException Fail(string reason, Exception? inner)
    {
        Log.AuthenticationSetupFailed(logger, reason);
        return new ModelLoadException(reason, inner);
    }
}
