using System.Runtime.CompilerServices;
using AuthzGrpc.Core.Engine;
using System.Text.Json;
using Microsoft.EntityFrameworkCore.Metadata;

namespace AuthzGrpc.Storage;

/// <summary>One item of a backup, in the order an export reads them: the header, then the rows.</summary>
public abstract record BackupItem;

/// <summary>What a backup starts with: the schema in force (empty when none was ever stored), and where and when it was taken.</summary>
public sealed record BackupHeader(string SchemaText, long Revision, string DatabaseId, DateTime TakenAt) : BackupItem;

/// <summary>
/// One stored row of a backup: its kind (<c>relationship</c>, <c>principal</c>, <c>resource</c>, <c>invitation</c>,
/// <c>api_key</c> or <c>audit_event</c>) and its columns as a JSON object with snake_case names.
/// </summary>
public sealed record BackupRow(string Kind, string Json) : BackupItem;

/// <summary>What a restore wrote: its revision, how many rows of each kind, the relationships now stored and the API keys it added.</summary>
public sealed record RestoreResult(long Revision, IReadOnlyDictionary<string, int> Counts, IReadOnlyList<Relationship> Relationships, IReadOnlyList<string> ApiKeyIds);

/// <summary>
/// The whole state of a database as rows, and back: the schema in force, the relationships, the directory, the
/// invitations, the API keys and the audit log. The revision log stays behind: it is this database's history, and a
/// restore starts the other database's with one revision of its own. A restore goes only into a database that has had
/// no write since it was created, so it never overwrites anybody's work.
/// </summary>
public sealed class BackupStore(AuthzDatabase database)
{
    private static readonly JsonSerializerOptions RowJson = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    // The row type of each kind, by the name a backup spells it with.
    private static readonly Dictionary<string, Type> RowTypes = new(StringComparer.Ordinal)
    {
        ["relationship"] = typeof(RelationshipRow),
        ["principal"] = typeof(PrincipalRow),
        ["resource"] = typeof(ResourceRow),
        ["invitation"] = typeof(InvitationRow),
        ["api_key"] = typeof(ApiKeyRow),
        ["audit_event"] = typeof(AuditEventRow),
    };

    /// <summary>
    /// Reads the header and then every row from one snapshot (a transaction that sees one committed state throughout),
    /// so a write made meanwhile is wholly in the backup or wholly out of it.
    /// </summary>
    public async IAsyncEnumerable<BackupItem> ExportAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var context = database.OpenContext();
        await using (context.ConfigureAwait(false))
        {
            var transaction = await context.BeginReadAsync(cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                var schema = await context.SchemaVersions.AsNoTracking().OrderByDescending(s => s.Revision).Select(s => s.Text)
                    .FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
                var revision = await AuthzDatabase.ReadRevisionAsync(context, cancellationToken).ConfigureAwait(false);
                var id = await context.RevisionCounter.AsNoTracking().Where(c => c.Id == 1).Select(c => c.DatabaseId)
                    .SingleAsync(cancellationToken).ConfigureAwait(false);
                yield return new BackupHeader(schema ?? string.Empty, revision, id, database.UtcNow);

                IAsyncEnumerable<BackupRow>[] tables =
                [
                    Rows(context.Relationships.AsNoTracking().OrderBy(r => r.Id), cancellationToken),
                    Rows(context.Principals.AsNoTracking().OrderBy(r => r.Id), cancellationToken),
                    Rows(context.Resources.AsNoTracking().OrderBy(r => r.ResourceType).ThenBy(r => r.ResourceId), cancellationToken),
                    Rows(context.Invitations.AsNoTracking().OrderBy(r => r.Id), cancellationToken),
                    Rows(context.ApiKeys.AsNoTracking().OrderBy(r => r.Id), cancellationToken),
                    Rows(context.AuditEvents.AsNoTracking().OrderBy(r => r.Id), cancellationToken),
                ];
                foreach (var table in tables)
                {
                    await foreach (var row in table.ConfigureAwait(false))
                    {
                        yield return row;
                    }
                }
            }
        }
    }

    /// <summary>
    /// Writes a backup into this database as one revision: the schema, every relationship (the change log says what went
    /// and what came), the directory, the invitations and the audit log (appended after this database's own events,
    /// which keep their ids), and every API key whose id this database does not hold (the keys it holds, the restoring
    /// caller's among them, stay). Throws <see cref="AuthzException"/>: FailedPrecondition when the database has had a
    /// write since it was created; InvalidArgument naming the first row that does not read as its kind or does not fit
    /// its columns, or a relationship of which <paramref name="problem"/> says why the schema does not allow it. Nothing
    /// changes when it throws.
    /// </summary>
    public Task<RestoreResult> RestoreAsync(
        string schemaText, IReadOnlyList<BackupRow> rows, Func<Relationship, string?> problem, string actor, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(problem);
        ArgumentNullException.ThrowIfNull(schemaText);
        ArgumentNullException.ThrowIfNull(rows);
        return database.WriteAsync("RestoreBackup", actor, async unit =>
        {
            var (context, revision, now) = unit;
            var revisions = await context.Revisions.CountAsync(cancellationToken).ConfigureAwait(false);
            if (revisions > 1 || await context.Invitations.AnyAsync(cancellationToken).ConfigureAwait(false) ||
                await context.Resources.AnyAsync(cancellationToken).ConfigureAwait(false) || await context.Principals.AnyAsync(cancellationToken).ConfigureAwait(false))
            {
                throw new AuthzException(AuthzErrorKind.FailedPrecondition,
                    $"this database has been written to since it was created ({revisions} revisions); a backup restores only into a new database: start a server on an empty data folder or database and restore there");
            }

            var counts = new Dictionary<string, int>(StringComparer.Ordinal);
            var restored = new List<Relationship>();
            var addedKeys = new List<string>();
            var heldKeys = (await context.ApiKeys.AsNoTracking().Select(k => k.Id).ToListAsync(cancellationToken).ConfigureAwait(false))
                .ToHashSet(StringComparer.Ordinal);
            for (var i = 0; i < rows.Count; i++)
            {
                var row = rows[i];
                if (!RowTypes.TryGetValue(row.Kind, out var type))
                {
                    throw new AuthzException(AuthzErrorKind.InvalidArgument,
                        $"row {i + 1}: kind '{row.Kind}' is not one a backup holds ({string.Join(", ", RowTypes.Keys)})");
                }

                // Generated ids are the new database's; relationships are stored as of this revision.
                switch (Read(context, type, row, i))
                {
                    case RelationshipRow relationship:
                        (relationship.Id, relationship.CreatedRevision) = (0, revision);
                        if (problem(relationship.ToRelationship()) is { } wrong)
                        {
                            throw new AuthzException(AuthzErrorKind.InvalidArgument, $"row {i + 1} ({row.Kind}): {wrong}");
                        }

                        context.Add(relationship);
                        restored.Add(relationship.ToRelationship());
                        break;
                    case PrincipalRow principal:
                        principal.Id = 0;
                        context.Add(principal);
                        break;
                    case AuditEventRow audit:
                        audit.Id = 0;
                        context.Add(audit);
                        break;
                    case ApiKeyRow key when !heldKeys.Add(key.Id):
                        continue;
                    case ApiKeyRow key:
                        context.Add(key);
                        addedKeys.Add(key.Id);
                        break;
                    case var other:
                        context.Add(other);
                        break;
                }

                counts[row.Kind] = counts.GetValueOrDefault(row.Kind) + 1;
            }

            // The relationships the new database was seeded with go; the change log says so, then what came.
            var seeded = await context.Relationships.ToListAsync(cancellationToken).ConfigureAwait(false);
            context.Relationships.RemoveRange(seeded);
            unit.AddChanges([
                .. seeded.Select(r => new StoredChange(RelationshipOperation.Delete, r.ToRelationship())),
                .. restored.Select(r => new StoredChange(RelationshipOperation.Touch, r))]);
            context.SchemaVersions.Add(new SchemaVersionRow { Text = schemaText, Revision = revision, CreatedAt = now, Actor = unit.Actor });
            unit.Audit("RestoreBackup", "backup", null, JsonSerializer.Serialize(counts));
            return (new RestoreResult(revision, counts, restored, addedKeys), true);
        }, cancellationToken);
    }

    private static async IAsyncEnumerable<BackupRow> Rows<TRow>(IQueryable<TRow> rows, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var kind = RowTypes.Single(k => k.Value == typeof(TRow)).Key;
        await foreach (var row in rows.AsAsyncEnumerable().WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            yield return new BackupRow(kind, JsonSerializer.Serialize(row, RowJson));
        }
    }

    // A row as its kind's columns, each within the bounds the database's model gives it, so that a refusal is a clear
    // INVALID_ARGUMENT before anything is written rather than a failed commit; times are UTC, as the database keeps them.
    private static object Read(AuthzDbContext context, Type type, BackupRow row, int index)
    {
        object? value;
        try
        {
            value = JsonSerializer.Deserialize(row.Json, type, RowJson);
        }
        catch (JsonException e)
        {
            throw new AuthzException(AuthzErrorKind.InvalidArgument, $"row {index + 1} ({row.Kind}): not a JSON object of its columns: {e.Message}");
        }

        if (value is null)
        {
            throw new AuthzException(AuthzErrorKind.InvalidArgument, $"row {index + 1} ({row.Kind}): is null");
        }

        foreach (var property in context.Model.FindEntityType(type)!.GetProperties())
        {
            var column = property.PropertyInfo?.GetValue(value);
            if (Problem(property, column) is { } problem)
            {
                throw new AuthzException(AuthzErrorKind.InvalidArgument, $"row {index + 1} ({row.Kind}): {property.Name} {problem}");
            }

            if (column is DateTime { Kind: not DateTimeKind.Utc } time)
            {
                property.PropertyInfo!.SetValue(value, time.Kind == DateTimeKind.Local ? time.ToUniversalTime() : DateTime.SpecifyKind(time, DateTimeKind.Utc));
            }
        }

        return value;
    }

    private static string? Problem(IProperty property, object? value) => value switch
    {
        null when !property.IsNullable => "is required",
        string text when property.GetMaxLength() is { } max && text.Length > max => $"is {text.Length} characters long; the column holds {max}",
        _ => null,
    };
}
