using System.Data.Common;
using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Microsoft.EntityFrameworkCore.Storage;

namespace AuthzGrpc.Storage;

/// <summary>
/// The source of truth's tables, shared by every provider. Each provider derives its own context
/// (<see cref="SqliteAuthzDbContext"/>, <see cref="PostgresAuthzDbContext"/>) so that each has its own migrations, and
/// supplies the two provider-specific pieces: how a write transaction takes the write lock and how a read takes a
/// snapshot.
/// </summary>
internal abstract class AuthzDbContext : DbContext
{
    /// <summary>Longest type name: a 64-character name, optionally prefixed by another and a '/'.</summary>
    internal const int TypeLength = 129;

    /// <summary>Longest relation or permission name.</summary>
    internal const int NameLength = 64;

    /// <summary>Longest object id (<see cref="Core.Model.Identifiers.MaxIdLength"/>).</summary>
    internal const int IdLength = Core.Model.Identifiers.MaxIdLength;

    private protected AuthzDbContext(DbContextOptions options)
        : base(options)
    {
    }

    public DbSet<SchemaVersionRow> SchemaVersions => Set<SchemaVersionRow>();

    public DbSet<RelationshipRow> Relationships => Set<RelationshipRow>();

    public DbSet<RevisionCounterRow> RevisionCounter => Set<RevisionCounterRow>();

    public DbSet<RevisionRow> Revisions => Set<RevisionRow>();

    public DbSet<ChangeRow> Changes => Set<ChangeRow>();

    public DbSet<InvitationRow> Invitations => Set<InvitationRow>();

    public DbSet<ApiKeyRow> ApiKeys => Set<ApiKeyRow>();

    public DbSet<PrincipalRow> Principals => Set<PrincipalRow>();

    public DbSet<ResourceRow> Resources => Set<ResourceRow>();

    public DbSet<AuditEventRow> AuditEvents => Set<AuditEventRow>();

    /// <summary>
    /// Begins the transaction of a write and takes the store-wide write lock, held until commit or rollback, so that
    /// writers from every process run one at a time; returns the locked revision counter (tracked: set the new
    /// revision on it).
    /// </summary>
    internal abstract Task<(IDbContextTransaction Transaction, RevisionCounterRow Counter)> BeginWriteAsync(CancellationToken cancellationToken);

    /// <summary>Begins a read-only transaction that sees one committed state throughout (a snapshot).</summary>
    internal abstract Task<IDbContextTransaction> BeginReadAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Opens the bulk insert of a seed at <paramref name="revision"/>, in the write transaction this context has begun,
    /// bypassing the change tracker. Dispose it before the transaction commits.
    /// </summary>
    internal abstract Task<SeedWriter> OpenSeedWriterAsync(long revision, CancellationToken cancellationToken);

    /// <summary>
    /// Every stored relationship, read in the transaction this context has begun with a plain data reader: a load reads
    /// them all, and EF Core's materialization of a row entity for each took more time than the database's own read.
    /// </summary>
    internal async IAsyncEnumerable<Relationship> ReadRelationshipsAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var command = Database.GetDbConnection().CreateCommand();
        await using (command.ConfigureAwait(false))
        {
            command.CommandText = $"SELECT {RelationshipValueColumns} FROM relationships";
            command.Transaction = Database.CurrentTransaction?.GetDbTransaction();
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    yield return RelationshipColumns.ToRelationship(
                        reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4), reader.GetString(5),
                        reader.IsDBNull(6) ? null : reader.GetDateTime(6),
                        reader.IsDBNull(7) ? null : reader.GetString(7),
                        reader.IsDBNull(8) ? null : reader.GetString(8));
                }
            }
        }
    }

    /// <summary>The columns of <c>relationships</c> a bulk insert fills, in the order its values come.</summary>
    private protected const string InsertedRelationshipColumns = RelationshipValueColumns + ", created_revision";

    /// <summary>The columns of a relationship's value, the same in <c>relationships</c> and <c>revision_changes</c>.</summary>
    private protected const string RelationshipValueColumns =
        "resource_type, resource_id, relation, subject_type, subject_id, subject_relation, expires_at, caveat_name, caveat_context";

    /// <summary>The columns of <c>revision_changes</c> a bulk insert fills, in the order its values come.</summary>
    private protected const string LoggedChangeColumns = "revision, sequence, operation, " + RelationshipValueColumns;

    /// <inheritdoc/>
    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        ArgumentNullException.ThrowIfNull(modelBuilder);

        modelBuilder.Entity<SchemaVersionRow>(e =>
        {
            e.ToTable("schema_versions");
            e.HasKey(x => x.Id);
            e.Property(x => x.Text).IsRequired();
            e.Property(x => x.Actor).HasMaxLength(IdLength + TypeLength + 1);
            e.HasIndex(x => x.Revision).IsUnique();
        });

        modelBuilder.Entity<RelationshipRow>(e =>
        {
            e.ToTable("relationships");
            e.HasKey(x => x.Id);
            ConfigureRelationshipColumns(e);
            e.HasIndex(x => new { x.ResourceType, x.ResourceId, x.Relation, x.SubjectType, x.SubjectId, x.SubjectRelation })
                .IsUnique()
                .HasDatabaseName("ix_relationships_key");
            // Reverse lookups: everything a subject appears in.
            e.HasIndex(x => new { x.SubjectType, x.SubjectId, x.SubjectRelation }).HasDatabaseName("ix_relationships_subject");
            // The background cleanup's scan for what has expired.
            e.HasIndex(x => x.ExpiresAt).HasDatabaseName("ix_relationships_expires_at");
        });

        modelBuilder.Entity<RevisionCounterRow>(e =>
        {
            e.ToTable("revision_counter");
            e.HasKey(x => x.Id);
            e.Property(x => x.Id).ValueGeneratedNever();
            e.Property(x => x.DatabaseId).HasMaxLength(32);
            e.HasData(new RevisionCounterRow { Id = 1, Revision = 0 });
        });

        modelBuilder.Entity<RevisionRow>(e =>
        {
            e.ToTable("revisions");
            e.HasKey(x => x.Revision);
            e.Property(x => x.Revision).ValueGeneratedNever();
            e.Property(x => x.Actor).HasMaxLength(IdLength + TypeLength + 1);
            e.Property(x => x.Operation).HasMaxLength(NameLength);
            e.Property(x => x.Marker).HasMaxLength(32);
        });

        modelBuilder.Entity<ChangeRow>(e =>
        {
            e.ToTable("revision_changes");
            e.HasKey(x => x.Id);
            e.Property(x => x.Operation).HasMaxLength(16);
            ConfigureRelationshipColumns(e);
            e.HasIndex(x => new { x.Revision, x.Sequence }).IsUnique();
            e.HasOne<RevisionRow>().WithMany().HasForeignKey(x => x.Revision).OnDelete(DeleteBehavior.Restrict);
        });

        modelBuilder.Entity<InvitationRow>(e =>
        {
            ConfigureSecretRows(e, "invitations", nameof(InvitationRow.TokenHash));
            e.Property(x => x.Email).HasMaxLength(320);
            e.Property(x => x.ResourceType).HasMaxLength(TypeLength);
            e.Property(x => x.ResourceId).HasMaxLength(IdLength);
            e.Property(x => x.Status).HasMaxLength(16);
            e.Property(x => x.InvitedBy).HasMaxLength(IdLength + TypeLength + 1);
            e.Property(x => x.AcceptedBy).HasMaxLength(IdLength + TypeLength + 1);
            e.HasIndex(x => new { x.ResourceType, x.ResourceId });
            e.HasIndex(x => x.Email);
        });

        modelBuilder.Entity<ApiKeyRow>(e =>
        {
            ConfigureSecretRows(e, "api_keys", nameof(ApiKeyRow.KeyHash));
            e.Property(x => x.SubjectType).HasMaxLength(TypeLength);
            e.Property(x => x.SubjectId).HasMaxLength(IdLength);
            e.Property(x => x.Kind).HasMaxLength(16);
            e.Property(x => x.Description).HasMaxLength(ApiKeyStore.DescriptionLength);
            e.Property(x => x.Email).HasMaxLength(320);
            e.HasIndex(x => new { x.SubjectType, x.SubjectId });
        });

        modelBuilder.Entity<PrincipalRow>(e =>
        {
            e.ToTable("principals");
            e.HasKey(x => x.Id);
            e.Property(x => x.SubjectType).HasMaxLength(TypeLength);
            e.Property(x => x.SubjectId).HasMaxLength(IdLength);
            e.Property(x => x.Email).HasMaxLength(320);
            e.Property(x => x.DisplayName).HasMaxLength(256);
            e.HasIndex(x => new { x.SubjectType, x.SubjectId }).IsUnique();
            e.HasIndex(x => x.Email).IsUnique();
        });

        modelBuilder.Entity<ResourceRow>(e =>
        {
            e.ToTable("resources");
            e.HasKey(x => new { x.ResourceType, x.ResourceId });
            e.Property(x => x.ResourceType).HasMaxLength(TypeLength);
            e.Property(x => x.ResourceId).HasMaxLength(IdLength);
            e.Property(x => x.Name).HasMaxLength(256);
            e.Property(x => x.Description).HasMaxLength(4096);
        });

        modelBuilder.Entity<AuditEventRow>(e =>
        {
            e.ToTable("audit_events");
            e.HasKey(x => x.Id);
            e.Property(x => x.Actor).HasMaxLength(IdLength + TypeLength + 1);
            e.Property(x => x.Operation).HasMaxLength(NameLength);
            e.Property(x => x.Target).HasMaxLength(1024);
            e.HasIndex(x => x.Revision);
            e.HasIndex(x => x.OccurredAt);
            e.HasIndex(x => new { x.Actor, x.OccurredAt });
            e.HasIndex(x => new { x.Target, x.OccurredAt });
        });

        // snake_case columns, the same on every provider, so that SQL written by hand reads the same everywhere.
        foreach (var entity in modelBuilder.Model.GetEntityTypes())
        {
            foreach (var property in entity.GetProperties())
            {
                property.SetColumnName(SnakeCase(property.Name));
            }
        }
    }

    // A table of things answered by a secret (an invitation's token, an API key's): a short public id, and only the
    // secret's hash, unique, so the secret finds its row.
    private static void ConfigureSecretRows<TRow>(EntityTypeBuilder<TRow> e, string table, string hash)
        where TRow : class
    {
        e.ToTable(table);
        e.HasKey("Id");
        e.Property<string>("Id").HasMaxLength(64);
        e.Property<string>(hash).HasMaxLength(128);
        e.HasIndex(hash).IsUnique();
    }

    private static void ConfigureRelationshipColumns<TRow>(EntityTypeBuilder<TRow> e)
        where TRow : RelationshipColumns
    {
        e.Property(x => x.ResourceType).IsRequired().HasMaxLength(TypeLength);
        e.Property(x => x.ResourceId).IsRequired().HasMaxLength(IdLength);
        e.Property(x => x.Relation).IsRequired().HasMaxLength(NameLength);
        e.Property(x => x.SubjectType).IsRequired().HasMaxLength(TypeLength);
        e.Property(x => x.SubjectId).IsRequired().HasMaxLength(IdLength);
        e.Property(x => x.SubjectRelation).IsRequired().HasMaxLength(NameLength);
        e.Property(x => x.CaveatName).HasMaxLength(TypeLength);
    }

    private static string SnakeCase(string name)
    {
        var builder = new StringBuilder(name.Length + 8);
        for (var i = 0; i < name.Length; i++)
        {
            if (char.IsUpper(name[i]) && i > 0)
            {
                builder.Append('_');
            }

            builder.Append(char.ToLowerInvariant(name[i]));
        }

        return builder.ToString();
    }

    /// <summary>The open connection of this context (opened if needed).</summary>
    private protected async Task<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken)
    {
        await Database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return Database.GetDbConnection();
    }
}

/// <summary>
/// The bulk insert of a seed: batches of relationships inserted into <c>relationships</c> at one revision, each row the
/// insert stores logged in <c>revision_changes</c> as a touch, in the order they were given. A relationship already
/// stored (earlier in the batch, or by an earlier batch) is skipped and not logged: the first one given keeps its
/// expiry and caveat. The rows are what a write through EF Core stores: the same columns, values and formats.
/// </summary>
internal abstract class SeedWriter : IAsyncDisposable
{
    /// <summary>How many relationships the writer has stored so far: the change log's next sequence number.</summary>
    public int Stored { get; protected set; }

    /// <summary>Inserts <paramref name="batch"/> and logs what it stored; returns how many it stored.</summary>
    public abstract Task<int> WriteAsync(IReadOnlyList<Relationship> batch, CancellationToken cancellationToken);

    /// <inheritdoc/>
    public abstract ValueTask DisposeAsync();

    /// <summary>The caveat context column of <paramref name="relationship"/>, as <see cref="RelationshipColumns.SetAttributes"/> writes it.</summary>
    private protected static string? CaveatContextOf(Relationship relationship) =>
        relationship.Caveat is { Context.IsEmpty: false } caveat ? caveat.Context.ToJson() : null;
}
