using AuthzGrpc.V1;
using Google.Protobuf;
using Grpc.Core;

namespace AuthzGrpc.Cli;

// backup create|restore (BackupService, admin keys only): the whole state of a server, and back into a new one.
internal sealed partial class AuthzCtl
{
    private Command BackupCreateCommand()
    {
        var file = new Argument<string>("file") { Description = "Where to write the backup (JSON lines; it holds key and token hashes: keep it as carefully as the database)" };
        var command = new Command("create", "Write a backup of the server, taken from one snapshot (ExportBackup)") { file };
        command.SetAction((result, cancellation) => CallAsync(result, async channel =>
        {
            var path = result.GetValue(file)!;
            var (rows, header) = (new SortedDictionary<string, long>(StringComparer.Ordinal), (BackupHeader?)null);
            await using (var target = new StreamWriter(path))
            {
                using var call = new BackupService.BackupServiceClient(channel).ExportBackup(new ExportBackupRequest(), cancellationToken: cancellation);
                await foreach (var item in call.ResponseStream.ReadAllAsync(cancellation))
                {
                    await target.WriteLineAsync(JsonFormatter.Default.Format(item).AsMemory(), cancellation);
                    header ??= item.Header;
                    if (item.Row is { } row)
                    {
                        rows[row.Kind] = rows.GetValueOrDefault(row.Kind) + 1;
                    }
                }
            }

            var summary = new BackupSummary(path, header?.Revision ?? string.Empty, rows);
            globals.PrinterOf(result, output).WriteValue(summary, text => text.WriteLine($"backup of revision {summary.Revision} written to {path}: {Counts(rows)}"));
            return ExitCodes.Success;
        }));
        return command;
    }

    private Command BackupRestoreCommand()
    {
        var file = new Argument<string>("file") { Description = "A backup 'backup create' wrote" };
        var command = new Command("restore",
            "Restore a backup into a server whose database has had no write since it was created (RestoreBackup), as one revision; " +
            "the server's own API keys stay, the backup's are added")
        {
            file,
        };
        command.SetAction((result, cancellation) => CallAsync(result, async channel =>
        {
            using var call = new BackupService.BackupServiceClient(channel).RestoreBackup(cancellationToken: cancellation);
            using (var source = new StreamReader(result.GetValue(file)!))
            {
                var number = 0;
                while (await source.ReadLineAsync(cancellation) is { } line)
                {
                    number++;
                    if (line.Length == 0)
                    {
                        continue;
                    }

                    BackupItem item;
                    try
                    {
                        item = JsonParser.Default.Parse<BackupItem>(line);
                    }
                    catch (InvalidProtocolBufferException e)
                    {
                        throw new CommandLineException($"{result.GetValue(file)}:{number}: not a backup item: {e.Message}");
                    }

                    await call.RequestStream.WriteAsync(item, cancellation);
                }
            }

            await call.RequestStream.CompleteAsync();
            var reply = await call;
            var rows = new SortedDictionary<string, long>(reply.Restored.ToDictionary(r => r.Key, r => (long)r.Value), StringComparer.Ordinal);
            globals.PrinterOf(result, output).Write(reply, text => text.WriteLine($"restored at revision {reply.Revision}: {Counts(rows)}"));
            return ExitCodes.Success;
        }));
        return command;
    }

    private static string Counts(SortedDictionary<string, long> rows) =>
        rows.Count == 0 ? "no rows" : string.Join(", ", rows.Select(r => $"{r.Value} {r.Key}"));

    // What 'backup create' prints: where the backup went, at which revision, and how many rows of each kind.
    private sealed record BackupSummary(string File, string Revision, IReadOnlyDictionary<string, long> Rows);
}
