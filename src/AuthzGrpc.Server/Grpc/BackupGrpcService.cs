using System.Globalization;
using AuthzGrpc.Server.Authentication;
using AuthzGrpc.Server.Reads;
using AuthzGrpc.Server.Writes;
using AuthzGrpc.V1;
using Google.Protobuf.WellKnownTypes;
using BackupHeader = AuthzGrpc.V1.BackupHeader;
using BackupItem = AuthzGrpc.V1.BackupItem;
using BackupRow = AuthzGrpc.V1.BackupRow;

namespace AuthzGrpc.Server.Grpc;

/// <summary>
/// authz.v1.BackupService (admin keys only, enforced by <see cref="AuthenticationInterceptor"/>): export the whole state
/// as a stream, and restore one into a new database. The rows are the store's own; this service maps the stream.
/// </summary>
internal sealed class BackupGrpcService(ModelWriter writer, ModelReader reader, ApiKeyAuthenticator authenticator, ILogger<BackupGrpcService> logger)
    : BackupService.BackupServiceBase
{
    /// <summary>The version of the backup format this server writes and reads.</summary>
    public const uint FormatVersion = 1;

    /// <summary>The most rows a restore takes: they are held in memory until the restore commits.</summary>
    public const int MaxRestoreRows = 5_000_000;

    public override async Task ExportBackup(ExportBackupRequest request, IServerStreamWriter<BackupItem> responseStream, ServerCallContext context)
    {
        await foreach (var item in reader.ExportBackup(context.GetCaller(), context.CancellationToken).ConfigureAwait(false))
        {
            await responseStream.WriteAsync(item switch
            {
                Storage.BackupHeader header => new BackupItem
                {
                    Header = new BackupHeader
                    {
                        FormatVersion = FormatVersion, Schema = header.SchemaText, Revision = header.Revision.ToString(CultureInfo.InvariantCulture),
                        DatabaseId = header.DatabaseId, TakenAt = Timestamp.FromDateTime(DateTime.SpecifyKind(header.TakenAt, DateTimeKind.Utc)),
                    },
                },
                Storage.BackupRow row => new BackupItem { Row = new BackupRow { Kind = row.Kind, Json = row.Json } },
                _ => throw new InvalidOperationException($"unknown backup item {item.GetType().Name}"),
            }, context.CancellationToken).ConfigureAwait(false);
        }
    }

    public override async Task<RestoreBackupResponse> RestoreBackup(IAsyncStreamReader<BackupItem> requestStream, ServerCallContext context)
    {
        BackupHeader? header = null;
        var rows = new List<Storage.BackupRow>();
        var index = 0;
        while (await requestStream.MoveNext(context.CancellationToken).ConfigureAwait(false))
        {
            var item = requestStream.Current;
            index++;
            if (index == 1)
            {
                header = item.Header ?? throw Invalid("item 1: a backup starts with its header");
                if (header.FormatVersion != FormatVersion)
                {
                    throw Invalid($"item 1: the backup's format version is {header.FormatVersion}; this server reads version {FormatVersion}");
                }

                continue;
            }

            if (item.Row is not { } row)
            {
                throw Invalid($"item {index}: only the first item is a header; every other is a row");
            }

            if (rows.Count == MaxRestoreRows)
            {
                throw new AuthzException(AuthzErrorKind.ResourceExhausted, $"a restore takes at most {MaxRestoreRows} rows");
            }

            rows.Add(new Storage.BackupRow(row.Kind, row.Json));
        }

        if (header is null)
        {
            throw Invalid("the backup is empty: it starts with its header");
        }

        var actor = CallActor.Of(context);
        var result = await writer.RestoreBackupAsync(header.Schema, rows, actor, context.CancellationToken).ConfigureAwait(false);
        foreach (var keyId in result.ApiKeyIds)
        {
            authenticator.Invalidate(keyId);
        }

        var counts = string.Join(", ", result.Counts.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Value} {c.Key}"));
        Log.BackupRestored(logger, actor, header.Revision, header.DatabaseId, result.Revision, counts);
        var response = new RestoreBackupResponse { Revision = result.Revision.ToString(CultureInfo.InvariantCulture) };
        foreach (var (kind, count) in result.Counts)
        {
            response.Restored[kind] = (uint)count;
        }

        return response;
    }

    private static AuthzException Invalid(string message) => new(AuthzErrorKind.InvalidArgument, message);
}
