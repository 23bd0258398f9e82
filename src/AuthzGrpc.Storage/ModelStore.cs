using System.Text.Json;
using System.Text.Json.Serialization;
using AuthzGrpc.Core.Engine;
using Microsoft.EntityFrameworkCore.Storage;
using static AuthzGrpc.Storage.RelationshipRows;

namespace AuthzGrpc.Storage;

/// <summary>
/// The model: the schema versions, the relationships, and the revision log with the changes of every revision. Every
/// write is one transaction of the database (<see cref="AuthzDatabase.WriteAsync"/>) at a new revision, with its audit
/// events. The store validates nothing against the schema: the caller (the server, through the engine) does.
/// </summary>
public sealed class ModelStore(AuthzDatabase database)
{
    /// <summary>The revision operation (and audit operation) of the background removal of expired relationships.</summary>
    public const string ExpireOperation = "ExpireRelationships";

    /// <summary>
    /// The revision operation of the seed of a new database, and the audit operation of its relationships (after:
    /// <c>{"file": source, "relationships": how many}</c>).
    /// </summary>
    public const string SeedOperation = "Seed";

    /// <summary>The relationships a load hands over at once (<see cref="LoadAsync(Func{string?, long, Action{IReadOnlyList{Relationship}}?}, CancellationToken)"/>): what it holds of them.</summary>
    public const int LoadBatchSize = 5_000;

    /// <summary>
    /// Reads the schema in force (null when none is stored) and the newest revision, hands them to
    /// <paramref name="begin"/>, then hands every relationship to what it returns, <see cref="LoadBatchSize"/> at a time
    /// (a batch is valid only during its call), all from one snapshot. <paramref name="begin"/> returns null to read no
    /// relationship. Nothing but one batch is held, whatever the model's size.
    /// </summary>
    public async Task LoadAsync(Func<string?, long, Action<IReadOnlyList<Relationship>>?> begin, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(begin);
        var context = database.OpenContext();
        await using (context.ConfigureAwait(false))
        {
            var transaction = await context.BeginReadAsync(cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                var revision = await AuthzDatabase.ReadRevisionAsync(context, cancellationToken).ConfigureAwait(false);
                var schema = await context.SchemaVersions.AsNoTracking()
                    .OrderByDescending(s => s.Revision)
                    .Select(s => s.Text)
                    .FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
                if (begin(schema, revision) is not { } add)
                {
                    return;
                }

                var batch = new List<Relationship>(LoadBatchSize);
                await foreach (var relationship in context.ReadRelationshipsAsync(cancellationToken).ConfigureAwait(false))
                {
                    batch.Add(relationship);
                    if (batch.Count == LoadBatchSize)
                    {
                        add(batch);
                        batch.Clear();
                    }
                }

                if (batch.Count > 0)
                {
                    add(batch);
                }
            }
        }
    }

    /// <summary>The schema in force, every relationship and the newest revision, read from one snapshot into memory.</summary>
    public async Task<StoredModel> LoadAsync(CancellationToken cancellationToken = default)
    {
        string? schemaText = null;
        long revision = 0;
        var relationships = new List<Relationship>();
        await LoadAsync(
            (schema, stored) =>
            {
                (schemaText, revision) = (schema, stored);
                return relationships.AddRange;
            },
            cancellationToken).ConfigureAwait(false);
        return new StoredModel(schemaText, relationships, revision);
    }

    /// <summary>The newest committed revision (0 when nothing was ever written).</summary>
    public async Task<long> CurrentRevisionAsync(CancellationToken cancellationToken = default)
    {
        var context = database.OpenContext();
        await using (context.ConfigureAwait(false))
        {
            return await AuthzDatabase.ReadRevisionAsync(context, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The relationships a seed inserts per statement batch: what it holds in memory at once.</summary>
    public const int SeedBatchSize = 5_000;

    /// <summary>
    /// Writes the first schema and relationships of a new database as one revision; does nothing and returns null when
    /// a schema is already stored (another process seeded it first, or the database is not new).
    /// <para>
    /// <paramref name="relationships"/> is enumerated once, inside the write's transaction, and written in batches of
    /// <see cref="SeedBatchSize"/>, so a seed holds one batch in memory whatever its size; a relationship given twice is
    /// stored once (the first one given: a touch). An exception from the enumeration (a line of a file that does not
    /// parse or fit the schema) rolls the whole seed back: nothing of it is stored. The change log records every stored
    /// relationship as a touch of the seed's revision; the audit log records the schema and, instead of the
    /// relationships themselves, how many were stored and from where (<paramref name="source"/>, e.g. the file's name).
    /// </para>
    /// </summary>
    public Task<long?> SeedAsync(
        string schemaText, IEnumerable<Relationship> relationships, string actor, string? source = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(schemaText);
        ArgumentNullException.ThrowIfNull(relationships);
        return database.WriteAsync<long?>(SeedOperation, actor, async unit =>
        {
            var (context, revision, now) = unit;
            if (await context.SchemaVersions.AnyAsync(cancellationToken).ConfigureAwait(false))
            {
                return (null, false);
            }

            // The schema and the revision row first, through EF; the relationships then bypass the change tracker.
            context.SchemaVersions.Add(new SchemaVersionRow { Text = schemaText, Revision = revision, CreatedAt = now, Actor = actor });
            await context.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
            var writer = await context.OpenSeedWriterAsync(revision, cancellationToken).ConfigureAwait(false);
            int stored;
            await using (writer.ConfigureAwait(false))
            {
                var batch = new List<Relationship>(SeedBatchSize);
                foreach (var relationship in relationships)
                {
                    batch.Add(relationship);
                    if (batch.Count == SeedBatchSize)
                    {
                        await writer.WriteAsync(batch, cancellationToken).ConfigureAwait(false);
                        batch.Clear();
                    }
                }

                if (batch.Count > 0)
                {
                    await writer.WriteAsync(batch, cancellationToken).ConfigureAwait(false);
                }

                stored = writer.Stored;
            }

            unit.Audit("WriteSchema", "schema", null, schemaText);
            if (stored > 0)
            {
                unit.Audit(SeedOperation, source ?? "relationships", null, JsonSerializer.Serialize(new SeedAudit(source, stored)));
            }

            return (revision, true);
        }, cancellationToken);
    }

    /// <summary>
    /// Stores a new schema version. <paramref name="problem"/> says why a stored relationship does not fit the new
    /// schema (null when it fits). When some do not fit, the write is refused with
    /// <see cref="AuthzErrorKind.FailedPrecondition"/> naming the first ten and how many in all, unless
    /// <paramref name="force"/>, which deletes them in the same revision.
    /// </summary>
    public Task<SchemaWriteResult> WriteSchemaAsync(
        string schemaText, Func<Relationship, string?> problem, bool force, string actor, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(schemaText);
        ArgumentNullException.ThrowIfNull(problem);
        return database.WriteAsync("WriteSchema", actor, async unit =>
        {
            var (context, revision, now) = unit;
            var previous = await context.SchemaVersions.AsNoTracking()
                .OrderByDescending(s => s.Revision)
                .Select(s => s.Text)
                .FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
            var rows = await context.Relationships.AsNoTracking().ToListAsync(cancellationToken).ConfigureAwait(false);
            var remaining = new List<Relationship>(rows.Count);
            var orphans = new List<(RelationshipRow Row, Relationship Relationship, string Problem)>();
            foreach (var row in rows)
            {
                var relationship = row.ToRelationship();
                if (problem(relationship) is { } reason)
                {
                    orphans.Add((row, relationship, reason));
                }
                else
                {
                    remaining.Add(relationship);
                }
            }

            if (orphans.Count > 0 && !force)
            {
                const int shown = 10;
                var names = string.Join("; ", orphans.Take(shown).Select(o => o.Problem));
                var more = orphans.Count > shown ? $"; and {orphans.Count - shown} more" : string.Empty;
                throw new AuthzException(AuthzErrorKind.FailedPrecondition,
                    $"the schema would orphan {orphans.Count} stored relationship(s); delete them first or write the schema with force to delete them: {names}{more}");
            }

            var deleted = orphans.Select(o => o.Relationship).ToList();
            foreach (var (row, _, _) in orphans)
            {
                context.Relationships.Remove(new RelationshipRow { Id = row.Id });
            }

            unit.AddChanges([.. deleted.Select(r => new StoredChange(RelationshipOperation.Delete, r))]);
            context.SchemaVersions.Add(new SchemaVersionRow { Text = schemaText, Revision = revision, CreatedAt = now, Actor = actor });
            unit.Audit("WriteSchema", "schema", previous, schemaText);
            if (deleted.Count > 0)
            {
                unit.Audit("DeleteRelationships", Target(deleted), Json(deleted), null);
            }

            return (new SchemaWriteResult(revision, deleted, remaining), true);
        }, cancellationToken);
    }

    /// <summary>
    /// Applies a batch of creates, touches and deletes atomically, after checking every precondition against the stored
    /// relationships inside the transaction; returns the revision committed. A create of a stored relationship fails
    /// with <see cref="AuthzErrorKind.AlreadyExists"/>, a broken precondition with
    /// <see cref="AuthzErrorKind.FailedPrecondition"/> naming it; either way nothing changes. The change log records
    /// the net effect on each relationship (a touch of a stored one changes nothing).
    /// </summary>
    public Task<long> WriteRelationshipsAsync(
        IReadOnlyList<RelationshipUpdate> updates, IReadOnlyList<StorePrecondition> preconditions, string actor,
        CancellationToken cancellationToken = default) =>
        CommitAsync("WriteRelationships", null, updates, preconditions, null, actor, cancellationToken);

    /// <summary>
    /// Commits a management operation: its relationship changes (as <see cref="WriteRelationshipsAsync"/> does), a change
    /// of object metadata, and an audit event naming the operation and its <paramref name="target"/>, all in one
    /// transaction; returns the revision committed.
    /// </summary>
    public Task<long> ManageAsync(
        string operation, string target, IReadOnlyList<RelationshipUpdate> updates, ResourceChange? resource, string actor,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(operation);
        ArgumentException.ThrowIfNullOrEmpty(target);
        return CommitAsync(operation, target, updates, [], resource, actor, cancellationToken);
    }

    private Task<long> CommitAsync(
        string operation, string? target, IReadOnlyList<RelationshipUpdate> updates, IReadOnlyList<StorePrecondition> preconditions,
        ResourceChange? resource, string actor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(updates);
        ArgumentNullException.ThrowIfNull(preconditions);
        return database.WriteAsync(operation, actor, async unit =>
        {
            await unit.CheckPreconditionsAsync(preconditions, cancellationToken).ConfigureAwait(false);
            var (added, removed) = await unit.ApplyUpdatesAsync(updates, cancellationToken).ConfigureAwait(false);
            var (recordBefore, recordAfter) = resource is null
                ? (null, null)
                : await DirectoryStore.ApplyResourceChangeAsync(unit, resource, cancellationToken).ConfigureAwait(false);

            // Before/after are the relationships removed/added; an update of an object's record changes none, so its
            // event shows the record before and after instead.
            unit.Audit(operation,
                target ?? Target([.. updates.Select(u => u.Relationship)]),
                removed.Count == 0 ? recordBefore : Json(removed),
                added.Count == 0 ? recordAfter : Json(added));
            return (unit.Revision, true);
        }, cancellationToken);
    }

    /// <summary>
    /// Deletes every relationship <paramref name="filter"/> selects, atomically, if every precondition holds; returns
    /// the revision committed and what was deleted (a delete that matches nothing still commits a revision).
    /// </summary>
    public Task<RelationshipDeletion> DeleteRelationshipsAsync(
        RelationshipFilter filter, IReadOnlyList<StorePrecondition> preconditions, string actor, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentNullException.ThrowIfNull(preconditions);
        return database.WriteAsync("DeleteRelationships", actor, async unit =>
        {
            var (context, revision, _) = unit;
            await unit.CheckPreconditionsAsync(preconditions, cancellationToken).ConfigureAwait(false);
            var rows = await context.Relationships.Matching(filter).ToListAsync(cancellationToken).ConfigureAwait(false);
            context.Relationships.RemoveRange(rows);
            var deleted = rows.Select(r => r.ToRelationship()).ToList();
            unit.AddChanges([.. deleted.Select(r => new StoredChange(RelationshipOperation.Delete, r))]);
            unit.Audit("DeleteRelationships", Describe(filter), deleted.Count == 0 ? null : Json(deleted), null);
            return (new RelationshipDeletion(revision, deleted), true);
        }, cancellationToken);
    }

    /// <summary>
    /// Deletes at most <paramref name="limit"/> relationships whose expiry has passed by the database's clock (the oldest
    /// expiries first), as the revision <c>ExpireRelationships</c> of <paramref name="actor"/>; returns the revision and
    /// what was deleted. Judged inside the write's transaction, so a relationship touched with a later expiry meanwhile
    /// stays. Nothing expired: nothing commits, and the revision in force is returned with nothing deleted.
    /// </summary>
    public Task<RelationshipDeletion> DeleteExpiredAsync(int limit, string actor, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        return database.WriteAsync(ExpireOperation, actor, async unit =>
        {
            var (context, revision, now) = unit;
            var rows = await context.Relationships
                .Where(r => r.ExpiresAt != null && r.ExpiresAt <= now)
                .OrderBy(r => r.ExpiresAt).ThenBy(r => r.Id)
                .Take(limit)
                .ToListAsync(cancellationToken).ConfigureAwait(false);
            if (rows.Count == 0)
            {
                return (new RelationshipDeletion(revision, []), false);
            }

            context.Relationships.RemoveRange(rows);
            var deleted = rows.Select(r => r.ToRelationship()).ToList();
            unit.AddChanges([.. deleted.Select(r => new StoredChange(RelationshipOperation.Delete, r))]);
            unit.Audit(ExpireOperation, Target(deleted), Json(deleted), null);
            return (new RelationshipDeletion(revision, deleted), true);
        }, cancellationToken);
    }

    /// <summary>
    /// Opens a read of the relationships <paramref name="filter"/> selects, at one snapshot: the reader's
    /// <see cref="RelationshipReader.Revision"/> is the revision the rows it streams are at. Dispose it when done.
    /// </summary>
    public Task<RelationshipReader> ReadRelationshipsAsync(RelationshipFilter filter, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        return OpenSnapshotAsync((context, transaction, revision) => new RelationshipReader(context, transaction, filter, revision, database.UtcNow), cancellationToken);
    }

    /// <summary>
    /// Opens the relationships for reading on demand at one snapshot, for computing records
    /// (<see cref="Core.Graph.RecordBuilder"/>) without loading the model. Dispose it when done.
    /// </summary>
    public Task<DatabaseRelationshipIndex> OpenRelationshipIndexAsync(CancellationToken cancellationToken = default) =>
        OpenSnapshotAsync((context, transaction, revision) => new DatabaseRelationshipIndex(context, transaction, revision), cancellationToken);

    // A context with a read transaction open on one snapshot and the revision of that snapshot, handed to `open`; the
    // context is disposed if opening fails, else the result owns it.
    private async Task<T> OpenSnapshotAsync<T>(Func<AuthzDbContext, IDbContextTransaction, long, T> open, CancellationToken cancellationToken)
    {
        var context = database.OpenContext();
        try
        {
            var transaction = await context.BeginReadAsync(cancellationToken).ConfigureAwait(false);
            var revision = await AuthzDatabase.ReadRevisionAsync(context, cancellationToken).ConfigureAwait(false);
            return open(context, transaction, revision);
        }
        catch
        {
            await context.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Every relationship <paramref name="filter"/> selects, as a list (a convenience over <see cref="ReadRelationshipsAsync"/>).</summary>
    public async Task<IReadOnlyList<Relationship>> ListRelationshipsAsync(RelationshipFilter filter, CancellationToken cancellationToken = default)
    {
        var reader = await ReadRelationshipsAsync(filter, cancellationToken).ConfigureAwait(false);
        await using (reader.ConfigureAwait(false))
        {
            var result = new List<Relationship>();
            await foreach (var relationship in reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                result.Add(relationship);
            }

            return result;
        }
    }

    /// <summary>The committed revisions after <paramref name="afterRevision"/>, oldest first, each with its changes; at most <paramref name="limit"/>.</summary>
    public async Task<IReadOnlyList<RevisionChanges>> ReadChangesAsync(long afterRevision, int limit = 1000, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        var context = database.OpenContext();
        await using (context.ConfigureAwait(false))
        {
            var transaction = await context.BeginReadAsync(cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                var revisions = await context.Revisions.AsNoTracking()
                    .Where(r => r.Revision > afterRevision)
                    .OrderBy(r => r.Revision)
                    .Take(limit)
                    .ToListAsync(cancellationToken).ConfigureAwait(false);
                if (revisions.Count == 0)
                {
                    return [];
                }

                var last = revisions[^1].Revision;
                var changes = (await context.Changes.AsNoTracking()
                        .Where(c => c.Revision > afterRevision && c.Revision <= last)
                        .OrderBy(c => c.Revision).ThenBy(c => c.Sequence)
                        .ToListAsync(cancellationToken).ConfigureAwait(false))
                    .ToLookup(c => c.Revision);
                return [.. revisions.Select(r => new RevisionChanges(
                    r.Revision, r.CommittedAt, r.Actor, r.Operation,
                    [.. changes[r.Revision].Select(c => new StoredChange(
                        c.Operation == DeleteOperation ? RelationshipOperation.Delete : RelationshipOperation.Touch, c.ToRelationship()))]))];
            }
        }
    }

    /// <summary>
    /// The newest stored schema version (null when the database holds none yet), its text left out when it is the one
    /// written at <paramref name="heldRevision"/>: what a replica that holds no engine reads to follow schema changes.
    /// </summary>
    public async Task<StoredSchema?> ReadSchemaAsync(long heldRevision, CancellationToken cancellationToken = default)
    {
        var context = database.OpenContext();
        await using (context.ConfigureAwait(false))
        {
            return await NewestSchemaAsync(context, heldRevision, cancellationToken).ConfigureAwait(false);
        }
    }

    // One query: the newest version's revision, and its text only when the caller does not hold it.
    internal static Task<StoredSchema?> NewestSchemaAsync(AuthzDbContext context, long heldRevision, CancellationToken cancellationToken) =>
        context.SchemaVersions.AsNoTracking()
            .OrderByDescending(s => s.Revision)
            .Select(s => new StoredSchema(s.Revision, s.Revision == heldRevision ? null : s.Text))
            .FirstOrDefaultAsync(cancellationToken);

    /// <summary>Every stored schema version, oldest first.</summary>
    public async Task<IReadOnlyList<SchemaVersion>> ReadSchemaVersionsAsync(CancellationToken cancellationToken = default)
    {
        var context = database.OpenContext();
        await using (context.ConfigureAwait(false))
        {
            return await context.SchemaVersions.AsNoTracking()
                .OrderBy(s => s.Revision)
                .Select(s => new SchemaVersion(s.Text, s.Revision, s.CreatedAt, s.Actor))
                .ToListAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}

/// <summary>What the seed's audit event records of its relationships: where from and how many, not the relationships.</summary>
internal sealed record SeedAudit(
    [property: JsonPropertyName("file")] string? File,
    [property: JsonPropertyName("relationships")] int Relationships);
