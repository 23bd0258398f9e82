using System.Runtime.CompilerServices;
using System.Text.Json;
using AuthzGrpc.Core;
using AuthzGrpc.Core.Engine;
using AuthzGrpc.Core.Management;
using AuthzGrpc.Core.Model;
using AuthzGrpc.Storage.Entities;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace AuthzGrpc.Storage;

/// <summary>
/// The source of truth: the schema versions, the relationships, the revision log with the changes of every
/// revision, and the audit log, in SQLite or PostgreSQL.
/// <para>
/// Every write is one transaction that first takes the store-wide write lock (see
/// <see cref="AuthzDbContext.BeginWriteAsync"/>), then evaluates its preconditions, applies its changes, and
/// records the next revision (the locked counter plus one), the changes and an audit event, and commits. Writers
/// therefore run one at a time across every process sharing the database, and revisions are gap-free and
/// strictly increasing in commit order. A write that fails rolls back whole and consumes no revision.
/// Within one process a semaphore queues writers before they reach the database.
/// </para>
/// The store validates nothing against the schema: the caller (the server, through the engine) does.
/// </summary>
public sealed partial class AuthzStore : IAsyncDisposable, IDisposable
{
    /// <summary>How long a SQLite writer waits for another process's write lock before failing.</summary>
    public static readonly TimeSpan SqliteBusyTimeout = TimeSpan.FromSeconds(10);

    // Keys per existence query of a write batch.
    private const int LookupChunk = 200;

    private readonly Func<AuthzDbContext> _createContext;
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private readonly TimeProvider _time;
    private readonly string _connectionString;

    private AuthzStore(StorageProvider provider, string connectionString, Func<AuthzDbContext> createContext, TimeProvider time)
    {
        Provider = provider;
        _connectionString = connectionString;
        _createContext = createContext;
        _time = time;
    }

    /// <summary>The database behind the store.</summary>
    public StorageProvider Provider { get; }

    /// <summary>Where the data lives, without credentials: the SQLite file's full path, or PostgreSQL's host and database.</summary>
    public string Location => Provider switch
    {
        StorageProvider.Sqlite => new SqliteConnectionStringBuilder(_connectionString).DataSource,
        _ => PostgresLocation(_connectionString),
    };

    /// <summary>
    /// Creates a store. For SQLite, a relative file path in <paramref name="connectionString"/> is resolved against the
    /// current directory and its folder is created. Nothing is opened until <see cref="MigrateAsync"/>.
    /// </summary>
    public static AuthzStore Create(StorageProvider provider, string connectionString, TimeProvider? timeProvider = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        var time = timeProvider ?? TimeProvider.System;
        switch (provider)
        {
            case StorageProvider.Sqlite:
            {
                var builder = new SqliteConnectionStringBuilder(connectionString);
                if (builder.Mode != SqliteOpenMode.Memory && builder.DataSource is { Length: > 0 } file && file != ":memory:")
                {
                    builder.DataSource = Path.GetFullPath(file);
                    Directory.CreateDirectory(Path.GetDirectoryName(builder.DataSource)!);
                }

                var options = new DbContextOptionsBuilder<SqliteAuthzDbContext>()
                    .UseSqlite(builder.ConnectionString)
                    .AddInterceptors(new SqlitePragmaInterceptor(SqliteBusyTimeout))
                    .Options;
                return new AuthzStore(provider, builder.ConnectionString, () => new SqliteAuthzDbContext(options), time);
            }

            case StorageProvider.Postgres:
            {
                var options = new DbContextOptionsBuilder<PostgresAuthzDbContext>().UseNpgsql(connectionString).Options;
                return new AuthzStore(provider, connectionString, () => new PostgresAuthzDbContext(options), time);
            }

            default:
                throw new ArgumentOutOfRangeException(nameof(provider), provider, "unknown storage provider");
        }
    }

    /// <summary>
    /// Creates the database if needed and applies every pending migration of the provider; for SQLite, also switches
    /// the file to WAL journal mode (readers never block the writer, nor it them). Gives the database its identity
    /// (<see cref="DatabaseIdAsync"/>) when it has none.
    /// </summary>
    public async Task MigrateAsync(CancellationToken cancellationToken = default)
    {
        var context = _createContext();
        await using (context.ConfigureAwait(false))
        {
            await context.Database.MigrateAsync(cancellationToken).ConfigureAwait(false);
            if (Provider == StorageProvider.Sqlite)
            {
                // Persistent: recorded in the file, so every later connection (of any process) uses WAL.
                await context.Database.ExecuteSqlRawAsync("PRAGMA journal_mode = WAL;", cancellationToken).ConfigureAwait(false);
            }
        }

        // The identity is created with the database (its first start), so every copy of the file carries it.
        await DatabaseIdAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The database's identity: a random id (32 hex digits) given to it once, by the first call on a database that has
    /// none (a new one, or one created before identities existed), and the same for every process and every start
    /// after. The first call wins a race: the id is set only where it is still empty, in one statement.
    /// </summary>
    public async Task<string> DatabaseIdAsync(CancellationToken cancellationToken = default)
    {
        var context = _createContext();
        await using (context.ConfigureAwait(false))
        {
            var id = await ReadDatabaseIdAsync(context, cancellationToken).ConfigureAwait(false);
            if (id.Length > 0)
            {
                return id;
            }

            var fresh = Guid.NewGuid().ToString("N");
            await context.RevisionCounter.Where(c => c.Id == 1 && c.DatabaseId == string.Empty)
                .ExecuteUpdateAsync(set => set.SetProperty(c => c.DatabaseId, fresh), cancellationToken).ConfigureAwait(false);
            return await ReadDatabaseIdAsync(context, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The marker of a committed revision (<see cref="RevisionRow.Marker"/>): empty for revision 0 (nothing written)
    /// and for revisions committed before markers existed; null when the database has no such revision (it is behind:
    /// restored from an older backup, or another database).
    /// </summary>
    public async Task<string?> RevisionMarkerAsync(long revision, CancellationToken cancellationToken = default)
    {
        if (revision == 0)
        {
            return string.Empty;
        }

        var context = _createContext();
        await using (context.ConfigureAwait(false))
        {
            return await context.Revisions.AsNoTracking().Where(r => r.Revision == revision).Select(r => r.Marker)
                .SingleOrDefaultAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>SQLite's journal mode (<c>wal</c> once migrated); null for PostgreSQL.</summary>
    public async Task<string?> JournalModeAsync(CancellationToken cancellationToken = default)
    {
        if (Provider != StorageProvider.Sqlite)
        {
            return null;
        }

        var context = _createContext();
        await using (context.ConfigureAwait(false))
        {
            return await context.Database.SqlQueryRaw<string>("SELECT journal_mode AS \"Value\" FROM pragma_journal_mode")
                .SingleAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Whether the database answers.</summary>
    public async Task<bool> PingAsync(CancellationToken cancellationToken = default)
    {
        var context = _createContext();
        await using (context.ConfigureAwait(false))
        {
            return await context.Database.CanConnectAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The schema in force, every relationship and the newest revision, read from one snapshot.</summary>
    public async Task<StoredModel> LoadAsync(CancellationToken cancellationToken = default)
    {
        var context = _createContext();
        await using (context.ConfigureAwait(false))
        {
            var transaction = await context.BeginReadAsync(cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                var revision = await ReadRevisionAsync(context, cancellationToken).ConfigureAwait(false);
                var schema = await context.SchemaVersions.AsNoTracking()
                    .OrderByDescending(s => s.Revision)
                    .Select(s => s.Text)
                    .FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
                var rows = await context.Relationships.AsNoTracking().ToListAsync(cancellationToken).ConfigureAwait(false);
                return new StoredModel(schema, [.. rows.Select(ToModel)], revision);
            }
        }
    }

    /// <summary>The newest committed revision (0 when nothing was ever written).</summary>
    public async Task<long> CurrentRevisionAsync(CancellationToken cancellationToken = default)
    {
        var context = _createContext();
        await using (context.ConfigureAwait(false))
        {
            return await ReadRevisionAsync(context, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Writes the first schema and relationships of a new database as one revision; does nothing and returns null when
    /// a schema is already stored (another process seeded it first, or the database is not new).
    /// </summary>
    public Task<long?> SeedAsync(string schemaText, IReadOnlyCollection<Relationship> relationships, string actor, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(schemaText);
        ArgumentNullException.ThrowIfNull(relationships);
        return WriteAsync<long?>("Seed", actor, async (context, revision, now) =>
        {
            if (await context.SchemaVersions.AnyAsync(cancellationToken).ConfigureAwait(false))
            {
                return (null, false);
            }

            context.SchemaVersions.Add(new SchemaVersionRow { Text = schemaText, Revision = revision, CreatedAt = now, Actor = actor });
            var distinct = relationships.Distinct().ToList();
            var changes = new List<StoredChange>(distinct.Count);
            foreach (var relationship in distinct)
            {
                context.Relationships.Add(ToRow(relationship, revision));
                changes.Add(new StoredChange(RelationshipOperation.Touch, relationship));
            }

            AddChanges(context, revision, changes);
            AddAudit(context, revision, now, actor, "WriteSchema", "schema", null, schemaText);
            if (distinct.Count > 0)
            {
                AddAudit(context, revision, now, actor, "WriteRelationships", Target(distinct), null, Json(distinct));
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
        return WriteAsync("WriteSchema", actor, async (context, revision, now) =>
        {
            var previous = await context.SchemaVersions.AsNoTracking()
                .OrderByDescending(s => s.Revision)
                .Select(s => s.Text)
                .FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
            var rows = await context.Relationships.AsNoTracking().ToListAsync(cancellationToken).ConfigureAwait(false);
            var remaining = new List<Relationship>(rows.Count);
            var orphans = new List<(RelationshipRow Row, Relationship Relationship, string Problem)>();
            foreach (var row in rows)
            {
                var relationship = ToModel(row);
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

            AddChanges(context, revision, [.. deleted.Select(r => new StoredChange(RelationshipOperation.Delete, r))]);
            context.SchemaVersions.Add(new SchemaVersionRow { Text = schemaText, Revision = revision, CreatedAt = now, Actor = actor });
            AddAudit(context, revision, now, actor, "WriteSchema", "schema", previous, schemaText);
            if (deleted.Count > 0)
            {
                AddAudit(context, revision, now, actor, "DeleteRelationships", Target(deleted), Json(deleted), null);
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
        return WriteAsync(operation, actor, async (context, revision, now) =>
        {
            await CheckPreconditionsAsync(context, preconditions, cancellationToken).ConfigureAwait(false);
            var (added, removed) = await ApplyUpdatesAsync(context, revision, updates, cancellationToken).ConfigureAwait(false);
            var (recordBefore, recordAfter) = resource is null
                ? (null, null)
                : await ApplyResourceChangeAsync(context, resource, now, cancellationToken).ConfigureAwait(false);

            // Before/after are the relationships removed/added; an update of an object's record changes none, so its
            // event shows the record before and after instead.
            AddAudit(context, revision, now, actor, operation,
                target ?? Target([.. updates.Select(u => u.Relationship)]),
                removed.Count == 0 ? recordBefore : Json(removed),
                added.Count == 0 ? recordAfter : Json(added));
            return (revision, true);
        }, cancellationToken);
    }

    /// <summary>
    /// Replays <paramref name="updates"/> in order against the stored relationships within a write's transaction and
    /// stages the net effect (rows and change log); returns what was added and removed.
    /// </summary>
    private static async Task<(List<Relationship> Added, List<Relationship> Removed)> ApplyUpdatesAsync(
        AuthzDbContext context, long revision, IReadOnlyList<RelationshipUpdate> updates, CancellationToken cancellationToken)
    {
        // The stored row (or null) of every relationship the batch names, then the batch replayed in order.
        var stored = await FindAsync(context, updates.Select(u => u.Relationship).Distinct().ToList(), cancellationToken).ConfigureAwait(false);
        var present = stored.ToDictionary(p => p.Key, p => p.Value is not null);
        foreach (var update in updates)
        {
            var relationship = update.Relationship;
            switch (update.Operation)
            {
                case RelationshipOperation.Create when present[relationship]:
                    throw new AuthzException(AuthzErrorKind.AlreadyExists, $"{relationship} already exists: use touch to write it regardless");
                case RelationshipOperation.Create or RelationshipOperation.Touch:
                    present[relationship] = true;
                    break;
                default:
                    present[relationship] = false;
                    break;
            }
        }

        var added = new List<Relationship>();
        var removed = new List<Relationship>();
        var changes = new List<StoredChange>();
        foreach (var (relationship, row) in stored)
        {
            if (row is null && present[relationship])
            {
                context.Relationships.Add(ToRow(relationship, revision));
                added.Add(relationship);
                changes.Add(new StoredChange(RelationshipOperation.Touch, relationship));
            }
            else if (row is not null && !present[relationship])
            {
                context.Relationships.Remove(row);
                removed.Add(relationship);
                changes.Add(new StoredChange(RelationshipOperation.Delete, relationship));
            }
        }

        AddChanges(context, revision, changes);
        return (added, removed);
    }

    /// <summary>The emails known for <paramref name="subjects"/> (those with none are absent).</summary>
    public async Task<IReadOnlyDictionary<SubjectRef, string>> ReadEmailsAsync(IReadOnlyCollection<SubjectRef> subjects, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(subjects);
        var ids = subjects.Where(s => !s.IsSubjectSet).Select(s => s.Id).Distinct().ToList();
        var context = _createContext();
        await using (context.ConfigureAwait(false))
        {
            var rows = await context.Principals.AsNoTracking().Where(p => ids.Contains(p.SubjectId)).ToListAsync(cancellationToken).ConfigureAwait(false);
            return rows
                .Select(p => (Subject: new SubjectRef(p.SubjectType, p.SubjectId), p.Email))
                .Where(p => subjects.Contains(p.Subject))
                .GroupBy(p => p.Subject)
                .ToDictionary(g => g.Key, g => g.First().Email);
        }
    }

    /// <summary>The stored records (names and descriptions) of those of <paramref name="resources"/> made with CreateResource.</summary>
    public async Task<IReadOnlyDictionary<ObjectRef, StoredResource>> ReadResourcesAsync(IReadOnlyCollection<ObjectRef> resources, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(resources);
        var ids = resources.Select(r => r.Id).Distinct().ToList();
        var context = _createContext();
        await using (context.ConfigureAwait(false))
        {
            var rows = await context.Resources.AsNoTracking().Where(r => ids.Contains(r.ResourceId)).ToListAsync(cancellationToken).ConfigureAwait(false);
            return rows
                .Select(r => new StoredResource(new ObjectRef(r.ResourceType, r.ResourceId), r.Name, r.Description, r.CreatedAt, r.UpdatedAt))
                .Where(r => resources.Contains(r.Resource))
                .ToDictionary(r => r.Resource);
        }
    }

    /// <summary>
    /// Audit events matching <paramref name="query"/>, newest first: about an object (its id appears in the event's
    /// target), by an actor, within a time range, before an event id (for paging).
    /// </summary>
    public async Task<IReadOnlyList<AuditEvent>> QueryAuditEventsAsync(AuditQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentOutOfRangeException.ThrowIfLessThan(query.Limit, 1);
        var context = _createContext();
        await using (context.ConfigureAwait(false))
        {
            var events = context.AuditEvents.AsNoTracking().AsQueryable();
            if (query.Resource is { } resource)
            {
                // The object's name delimited as it appears in a target (`type:id`, a list `a, b and 2 more`, a filter
                // `type:id#relation@type:id`) and in the JSON of relationships and records: `project:doc` is not `project:docs`.
                var text = resource.ToString();
                var (listed, listedBefore, listedAnd, startsList, startsMore) = ($", {text},", $", {text}", $", {text} and ", $"{text},", $"{text} and ");
                var (asResource, asSubject, asSubjectSet, asValue, asFilterSubject) = ($"\"{text}#", $"@{text}\"", $"@{text}#", $"\"{text}\"", $"@{text}");
                var asFilter = $"{text}#";
                events = events.Where(a =>
                    a.Target == text || a.Target.StartsWith(asFilter) || a.Target.StartsWith(startsList) || a.Target.StartsWith(startsMore) ||
                    a.Target.Contains(listed) || a.Target.Contains(listedAnd) || a.Target.EndsWith(listedBefore) ||
                    a.Target.Contains(asSubjectSet) || a.Target.EndsWith(asFilterSubject) ||
                    (a.Before != null && (a.Before.Contains(asResource) || a.Before.Contains(asSubject) || a.Before.Contains(asSubjectSet) || a.Before.Contains(asValue))) ||
                    (a.After != null && (a.After.Contains(asResource) || a.After.Contains(asSubject) || a.After.Contains(asSubjectSet) || a.After.Contains(asValue))));
            }

            if (query.Actor is { } actor)
            {
                events = events.Where(a => a.Actor == actor);
            }

            if (query.Since is { } since)
            {
                events = events.Where(a => a.OccurredAt >= since);
            }

            if (query.Until is { } until)
            {
                events = events.Where(a => a.OccurredAt < until);
            }

            if (query.BeforeId is { } beforeId)
            {
                events = events.Where(a => a.Id < beforeId);
            }

            return await events.OrderByDescending(a => a.Id).Take(query.Limit)
                .Select(a => new AuditEvent(a.Id, a.Revision, a.OccurredAt, a.Actor, a.Operation, a.Target, a.Before, a.After))
                .ToListAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Stages <paramref name="change"/> to the object's record within a write's transaction. For an update, returns the
    /// record before and after as JSON (NotFound when the object has no record); for a create or delete, nulls: their
    /// audit events show the relationships instead.
    /// </summary>
    private static async Task<(string? Before, string? After)> ApplyResourceChangeAsync(
        AuthzDbContext context, ResourceChange change, DateTime now, CancellationToken cancellationToken)
    {
        var row = await context.Resources.FindAsync([change.Resource.Type, change.Resource.Id], cancellationToken).ConfigureAwait(false);
        switch (change.Kind)
        {
            case ResourceChangeKind.Delete:
                if (row is not null)
                {
                    context.Resources.Remove(row);
                }

                return (null, null);

            case ResourceChangeKind.Update:
            {
                if (row is null)
                {
                    throw new AuthzException(AuthzErrorKind.NotFound,
                        $"{change.Resource} has no stored name or description: only objects made with CreateResource can be updated");
                }

                var before = DescribeRecord(row);
                row.Name = change.Name ?? row.Name;
                row.Description = change.Description is null ? row.Description : change.Description.Length == 0 ? null : change.Description;
                row.UpdatedAt = now;
                return (before, DescribeRecord(row));
            }

            default:
                if (row is null)
                {
                    context.Resources.Add(row = new ResourceRow { ResourceType = change.Resource.Type, ResourceId = change.Resource.Id, CreatedAt = now });
                }

                row.Name = change.Name ?? string.Empty;
                row.Description = change.Description;
                row.UpdatedAt = now;
                foreach (var child in change.Children)
                {
                    await ApplyResourceChangeAsync(context, child, now, cancellationToken).ConfigureAwait(false);
                }

                return (null, null);
        }
    }

    // What the audit log shows of an object's record.
    private static string DescribeRecord(ResourceRow row) => JsonSerializer.Serialize(new
    {
        resource = $"{row.ResourceType}:{row.ResourceId}",
        name = row.Name,
        description = row.Description,
    });

    /// <summary>
    /// Deletes every relationship <paramref name="filter"/> selects, atomically, if every precondition holds; returns
    /// the revision committed and what was deleted (a delete that matches nothing still commits a revision).
    /// </summary>
    public Task<RelationshipDeletion> DeleteRelationshipsAsync(
        RelationshipFilter filter, IReadOnlyList<StorePrecondition> preconditions, string actor, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentNullException.ThrowIfNull(preconditions);
        return WriteAsync("DeleteRelationships", actor, async (context, revision, now) =>
        {
            await CheckPreconditionsAsync(context, preconditions, cancellationToken).ConfigureAwait(false);
            var rows = await context.Relationships.Matching(filter).ToListAsync(cancellationToken).ConfigureAwait(false);
            context.Relationships.RemoveRange(rows);
            var deleted = rows.Select(ToModel).ToList();
            AddChanges(context, revision, [.. deleted.Select(r => new StoredChange(RelationshipOperation.Delete, r))]);
            AddAudit(context, revision, now, actor, "DeleteRelationships", Describe(filter), deleted.Count == 0 ? null : Json(deleted), null);
            return (new RelationshipDeletion(revision, deleted), true);
        }, cancellationToken);
    }

    /// <summary>
    /// Opens a read of the relationships <paramref name="filter"/> selects, at one snapshot: the reader's
    /// <see cref="RelationshipReader.Revision"/> is the revision the rows it streams are at. Dispose it when done.
    /// </summary>
    public async Task<RelationshipReader> ReadRelationshipsAsync(RelationshipFilter filter, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        var context = _createContext();
        try
        {
            var transaction = await context.BeginReadAsync(cancellationToken).ConfigureAwait(false);
            var revision = await ReadRevisionAsync(context, cancellationToken).ConfigureAwait(false);
            return new RelationshipReader(context, transaction, filter, revision);
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
        var context = _createContext();
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
                        c.Operation == DeleteOperation ? RelationshipOperation.Delete : RelationshipOperation.Touch,
                        new Relationship(new ObjectRef(c.ResourceType, c.ResourceId), c.Relation,
                            new SubjectRef(c.SubjectType, c.SubjectId, c.SubjectRelation.Length == 0 ? null : c.SubjectRelation))))]))];
            }
        }
    }

    /// <summary>
    /// The id of the newest audit event (0 when there is none). Ids are assigned under the store-wide write lock and
    /// committed before it is released, so they increase in commit order: a reader that has seen event N never sees an
    /// event below N commit later, and "the events after N" is a safe place to resume (PostgreSQL may leave gaps,
    /// never out-of-order ids).
    /// </summary>
    public async Task<long> NewestAuditEventIdAsync(CancellationToken cancellationToken = default)
    {
        var context = _createContext();
        await using (context.ConfigureAwait(false))
        {
            return await context.AuditEvents.AsNoTracking().MaxAsync(a => (long?)a.Id, cancellationToken).ConfigureAwait(false) ?? 0;
        }
    }

    /// <summary>Audit events with an id above <paramref name="afterId"/>, oldest first; at most <paramref name="limit"/>.</summary>
    public async Task<IReadOnlyList<AuditEvent>> ReadAuditEventsAsync(long afterId = 0, int limit = 1000, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        var context = _createContext();
        await using (context.ConfigureAwait(false))
        {
            return await context.AuditEvents.AsNoTracking()
                .Where(a => a.Id > afterId)
                .OrderBy(a => a.Id)
                .Take(limit)
                .Select(a => new AuditEvent(a.Id, a.Revision, a.OccurredAt, a.Actor, a.Operation, a.Target, a.Before, a.After))
                .ToListAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Every stored schema version, oldest first.</summary>
    public async Task<IReadOnlyList<SchemaVersion>> ReadSchemaVersionsAsync(CancellationToken cancellationToken = default)
    {
        var context = _createContext();
        await using (context.ConfigureAwait(false))
        {
            return await context.SchemaVersions.AsNoTracking()
                .OrderBy(s => s.Revision)
                .Select(s => new SchemaVersion(s.Text, s.Revision, s.CreatedAt, s.Actor))
                .ToListAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Releases pooled SQLite connections, so the file can be moved or deleted.</summary>
    public void Dispose()
    {
        if (Provider == StorageProvider.Sqlite)
        {
            using var connection = new SqliteConnection(_connectionString);
            SqliteConnection.ClearPool(connection);
        }

        _writeGate.Dispose();
    }

    /// <inheritdoc cref="Dispose"/>
    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    private static string PostgresLocation(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        return $"{builder.Host}:{builder.Port}/{builder.Database}";
    }

    internal const string TouchOperation = "touch";
    internal const string DeleteOperation = "delete";

    internal static Relationship ToModel(RelationshipRow row) => new(
        new ObjectRef(row.ResourceType, row.ResourceId),
        row.Relation,
        new SubjectRef(row.SubjectType, row.SubjectId, row.SubjectRelation.Length == 0 ? null : row.SubjectRelation));

    private static RelationshipRow ToRow(Relationship relationship, long revision) => new()
    {
        ResourceType = relationship.Resource.Type,
        ResourceId = relationship.Resource.Id,
        Relation = relationship.Relation,
        SubjectType = relationship.Subject.Type,
        SubjectId = relationship.Subject.Id,
        SubjectRelation = relationship.Subject.Relation ?? string.Empty,
        CreatedRevision = revision,
    };

    private static Task<string> ReadDatabaseIdAsync(AuthzDbContext context, CancellationToken cancellationToken) =>
        context.RevisionCounter.AsNoTracking().Where(c => c.Id == 1).Select(c => c.DatabaseId).SingleAsync(cancellationToken);

    private static Task<long> ReadRevisionAsync(AuthzDbContext context, CancellationToken cancellationToken) =>
        context.RevisionCounter.AsNoTracking().Where(c => c.Id == 1).Select(c => c.Revision).SingleAsync(cancellationToken);

    /// <summary>
    /// The shared shape of every write: gate, transaction with the write lock, the next revision, the body, the
    /// revision row, save, commit. The body returns its result and whether to commit (false rolls back, consuming no
    /// revision); an exception from it rolls back too.
    /// </summary>
    private async Task<T> WriteAsync<T>(
        string operation, string actor, Func<AuthzDbContext, long, DateTime, Task<(T Result, bool Commit)>> body, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(actor);
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var context = _createContext();
            await using (context.ConfigureAwait(false))
            {
                var (transaction, counter) = await context.BeginWriteAsync(cancellationToken).ConfigureAwait(false);
                await using (transaction.ConfigureAwait(false))
                {
                    var revision = counter.Revision + 1;
                    var now = _time.GetUtcNow().UtcDateTime;
                    var (result, commit) = await body(context, revision, now).ConfigureAwait(false);
                    if (!commit)
                    {
                        await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
                        return result;
                    }

                    counter.Revision = revision;
                    context.Revisions.Add(new RevisionRow
                    {
                        Revision = revision, CommittedAt = now, Actor = actor, Operation = operation, Marker = Guid.NewGuid().ToString("N"),
                    });
                    await context.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
                    await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                    return result;
                }
            }
        }
        finally
        {
            _writeGate.Release();
        }
    }

    private static async Task CheckPreconditionsAsync(AuthzDbContext context, IReadOnlyList<StorePrecondition> preconditions, CancellationToken cancellationToken)
    {
        for (var i = 0; i < preconditions.Count; i++)
        {
            var precondition = preconditions[i];
            var matches = await context.Relationships.Matching(precondition.Filter).AnyAsync(cancellationToken).ConfigureAwait(false);
            if (matches != (precondition.Kind == PreconditionKind.MustMatch))
            {
                var what = precondition.Kind == PreconditionKind.MustMatch
                    ? $"must match a stored relationship, but none matches {Describe(precondition.Filter)}"
                    : $"must match no stored relationship, but {Describe(precondition.Filter)} matches at least one";
                throw new AuthzException(AuthzErrorKind.FailedPrecondition, $"preconditions[{i}] failed: the filter {what}");
            }
        }
    }

    /// <summary>The stored row of each relationship (tracked, so it can be removed), or null when it is not stored.</summary>
    private static async Task<List<KeyValuePair<Relationship, RelationshipRow?>>> FindAsync(
        AuthzDbContext context, IReadOnlyList<Relationship> relationships, CancellationToken cancellationToken)
    {
        var found = new Dictionary<Relationship, RelationshipRow>();

        // One query per group sharing everything but the two ids: ids IN (...) on both sides, exact match in memory.
        var groups = relationships.GroupBy(r => (r.Resource.Type, r.Relation, r.Subject.Type, SubjectRelation: r.Subject.Relation ?? string.Empty));
        foreach (var group in groups)
        {
            foreach (var chunk in group.Chunk(LookupChunk))
            {
                var (resourceType, relation, subjectType, subjectRelation) = group.Key;
                var resourceIds = chunk.Select(r => r.Resource.Id).Distinct().ToList();
                var subjectIds = chunk.Select(r => r.Subject.Id).Distinct().ToList();
                var wanted = chunk.ToHashSet();
                var rows = await context.Relationships
                    .Where(r => r.ResourceType == resourceType && r.Relation == relation && r.SubjectType == subjectType &&
                                r.SubjectRelation == subjectRelation && resourceIds.Contains(r.ResourceId) && subjectIds.Contains(r.SubjectId))
                    .ToListAsync(cancellationToken).ConfigureAwait(false);
                foreach (var row in rows)
                {
                    var relationship = ToModel(row);
                    if (wanted.Contains(relationship))
                    {
                        found[relationship] = row;
                    }
                }
            }
        }

        return [.. relationships.Select(r => new KeyValuePair<Relationship, RelationshipRow?>(r, found.GetValueOrDefault(r)))];
    }

    private static void AddChanges(AuthzDbContext context, long revision, List<StoredChange> changes)
    {
        for (var i = 0; i < changes.Count; i++)
        {
            var (operation, relationship) = changes[i];
            context.Changes.Add(new ChangeRow
            {
                Revision = revision,
                Sequence = i,
                Operation = operation == RelationshipOperation.Delete ? DeleteOperation : TouchOperation,
                ResourceType = relationship.Resource.Type,
                ResourceId = relationship.Resource.Id,
                Relation = relationship.Relation,
                SubjectType = relationship.Subject.Type,
                SubjectId = relationship.Subject.Id,
                SubjectRelation = relationship.Subject.Relation ?? string.Empty,
            });
        }
    }

    private static void AddAudit(
        AuthzDbContext context, long revision, DateTime now, string actor, string operation, string target, string? before, string? after) =>
        context.AuditEvents.Add(new AuditEventRow
        {
            Revision = revision,
            OccurredAt = now,
            Actor = actor,
            Operation = operation,
            Target = target.Length <= 1024 ? target : target[..1021] + "...",
            Before = before,
            After = after,
        });

    // The resources a write touched: "project:web, project:api and 3 more".
    private static string Target(IReadOnlyCollection<Relationship> relationships) => AuditTarget.Of(relationships.Select(r => r.Resource));

    private static string Json(IEnumerable<Relationship> relationships) =>
        JsonSerializer.Serialize(relationships.Select(r => r.ToString()).ToArray());

    /// <summary>A filter in the relationship text form, <c>*</c> for what it leaves open: <c>project:*#viewer@user:alice</c>.</summary>
    internal static string Describe(RelationshipFilter filter)
    {
        var text = $"{filter.ResourceType}:{filter.ResourceId ?? "*"}#{filter.Relation ?? "*"}";
        if (filter.Subject is { } subject)
        {
            text += $"@{subject.Type}:{subject.Id ?? "*"}" + subject.Relation switch
            {
                null => "#*",
                "" => string.Empty,
                var relation => "#" + relation,
            };
        }

        return text;
    }

    /// <summary>A snapshot read of relationships, streamed; dispose it to end the read.</summary>
    public sealed class RelationshipReader : IAsyncDisposable
    {
        private readonly AuthzDbContext _context;
        private readonly Microsoft.EntityFrameworkCore.Storage.IDbContextTransaction _transaction;
        private readonly RelationshipFilter _filter;

        internal RelationshipReader(
            AuthzDbContext context, Microsoft.EntityFrameworkCore.Storage.IDbContextTransaction transaction, RelationshipFilter filter, long revision)
        {
            _context = context;
            _transaction = transaction;
            _filter = filter;
            Revision = revision;
        }

        /// <summary>The revision of the snapshot.</summary>
        public long Revision { get; }

        /// <summary>The selected relationships, in the order of their key (resource, relation, subject).</summary>
        public async IAsyncEnumerable<Relationship> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            var rows = _context.Relationships.AsNoTracking().Matching(_filter)
                .OrderBy(r => r.ResourceType).ThenBy(r => r.ResourceId).ThenBy(r => r.Relation)
                .ThenBy(r => r.SubjectType).ThenBy(r => r.SubjectId).ThenBy(r => r.SubjectRelation)
                .AsAsyncEnumerable();
            await foreach (var row in rows.WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                yield return ToModel(row);
            }
        }

        /// <inheritdoc/>
        public async ValueTask DisposeAsync()
        {
            await _transaction.DisposeAsync().ConfigureAwait(false);
            await _context.DisposeAsync().ConfigureAwait(false);
        }
    }
}

/// <summary>Relationship filters as queries.</summary>
internal static class RelationshipQueries
{
    public static IQueryable<RelationshipRow> Matching(this IQueryable<RelationshipRow> rows, RelationshipFilter filter)
    {
        var type = filter.ResourceType;
        rows = rows.Where(r => r.ResourceType == type);
        if (filter.ResourceId is { } id)
        {
            rows = rows.Where(r => r.ResourceId == id);
        }

        if (filter.Relation is { } relation)
        {
            rows = rows.Where(r => r.Relation == relation);
        }

        if (filter.Subject is { } subject)
        {
            var subjectType = subject.Type;
            rows = rows.Where(r => r.SubjectType == subjectType);
            if (subject.Id is { } subjectId)
            {
                rows = rows.Where(r => r.SubjectId == subjectId);
            }

            if (subject.Relation is { } subjectRelation)
            {
                rows = rows.Where(r => r.SubjectRelation == subjectRelation);
            }
        }

        return rows;
    }
}
