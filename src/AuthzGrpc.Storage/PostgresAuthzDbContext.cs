using System.Data;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;
using NpgsqlTypes;

namespace AuthzGrpc.Storage;

/// <summary>
/// The PostgreSQL store, for several replicas sharing one database. A write runs at READ COMMITTED and first locks
/// the single <c>revision_counter</c> row with <c>SELECT ... FOR UPDATE</c>: every writer of every replica queues
/// on that row lock until the holder commits, so preconditions, the revision number and the change log are
/// computed by one writer at a time and revisions are gap-free. Reads use REPEATABLE READ, one snapshot throughout.
/// </summary>
internal sealed class PostgresAuthzDbContext(DbContextOptions<PostgresAuthzDbContext> options) : AuthzDbContext(options)
{
    internal override async Task<(IDbContextTransaction Transaction, RevisionCounterRow Counter)> BeginWriteAsync(CancellationToken cancellationToken)
    {
        var transaction = await Database.BeginTransactionAsync(IsolationLevel.ReadCommitted, cancellationToken).ConfigureAwait(false);
        var counter = await RevisionCounter
            .FromSqlRaw("SELECT * FROM revision_counter WHERE id = 1 FOR UPDATE")
            .SingleAsync(cancellationToken).ConfigureAwait(false);
        return (transaction, counter);
    }

    internal override Task<IDbContextTransaction> BeginReadAsync(CancellationToken cancellationToken) =>
        Database.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken);

    internal override Task<SeedWriter> OpenSeedWriterAsync(long revision, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var transaction = (NpgsqlTransaction?)Database.CurrentTransaction?.GetDbTransaction()
            ?? throw new InvalidOperationException("a bulk insert runs inside the write's transaction");
        return Task.FromResult<SeedWriter>(new PostgresSeedWriter((NpgsqlConnection)Database.GetDbConnection(), transaction, revision));
    }

    /// <summary>
    /// The seed's bulk insert: a batch in one statement and one round trip, each column an array parameter unnested into
    /// rows, and the change log written by the same statement from the rows the insert returns (a relationship skipped
    /// by ON CONFLICT is not returned, so not logged). COPY into a temporary table, then the same statement from it, was
    /// no faster (docs/PERFORMANCE.md): the time is PostgreSQL's inserts, not the transfer.
    /// </summary>
    private sealed class PostgresSeedWriter(NpgsqlConnection connection, NpgsqlTransaction transaction, long revision) : SeedWriter
    {
        private const string Columns = RelationshipValueColumns;

        // Sequences follow the ids, which the insert draws in the order the rows are given.
        private static readonly string Sql =
            $"WITH inserted AS (INSERT INTO relationships ({InsertedRelationshipColumns}) " +
            "SELECT r.*, @revision FROM unnest(@rt, @ri, @r, @st, @si, @sr, @e, @cn, @cc) AS r " +
            $"ON CONFLICT DO NOTHING RETURNING id, {Columns}) " +
            $"INSERT INTO revision_changes ({LoggedChangeColumns}) " +
            $"SELECT @revision, @first + ROW_NUMBER() OVER (ORDER BY id) - 1, '{RelationshipRows.TouchOperation}', {Columns} FROM inserted";

        public override async Task<int> WriteAsync(IReadOnlyList<Relationship> batch, CancellationToken cancellationToken)
        {
            ArgumentNullException.ThrowIfNull(batch);
            var count = batch.Count;
            var (resourceTypes, resourceIds, relations) = (new string[count], new string[count], new string[count]);
            var (subjectTypes, subjectIds, subjectRelations) = (new string[count], new string[count], new string[count]);
            var (expiries, caveatNames, caveatContexts) = (new DateTime?[count], new string?[count], new string?[count]);
            for (var i = 0; i < count; i++)
            {
                var relationship = batch[i];
                (resourceTypes[i], resourceIds[i], relations[i]) = (relationship.Resource.Type, relationship.Resource.Id, relationship.Relation);
                (subjectTypes[i], subjectIds[i], subjectRelations[i]) = (relationship.Subject.Type, relationship.Subject.Id, relationship.Subject.Relation ?? string.Empty);
                expiries[i] = relationship.ExpiresAt?.UtcDateTime;
                caveatNames[i] = relationship.Caveat?.Name;
                caveatContexts[i] = CaveatContextOf(relationship);
            }

            var command = connection.CreateCommand();
            await using (command.ConfigureAwait(false))
            {
                command.Transaction = transaction;
                command.CommandText = Sql;
                const NpgsqlDbType text = NpgsqlDbType.Array | NpgsqlDbType.Text;
                command.Parameters.Add(new NpgsqlParameter("rt", text) { Value = resourceTypes });
                command.Parameters.Add(new NpgsqlParameter("ri", text) { Value = resourceIds });
                command.Parameters.Add(new NpgsqlParameter("r", text) { Value = relations });
                command.Parameters.Add(new NpgsqlParameter("st", text) { Value = subjectTypes });
                command.Parameters.Add(new NpgsqlParameter("si", text) { Value = subjectIds });
                command.Parameters.Add(new NpgsqlParameter("sr", text) { Value = subjectRelations });
                command.Parameters.Add(new NpgsqlParameter("e", NpgsqlDbType.Array | NpgsqlDbType.TimestampTz) { Value = expiries });
                command.Parameters.Add(new NpgsqlParameter("cn", text) { Value = caveatNames });
                command.Parameters.Add(new NpgsqlParameter("cc", text) { Value = caveatContexts });
                command.Parameters.Add(new NpgsqlParameter("revision", NpgsqlDbType.Bigint) { Value = revision });
                command.Parameters.Add(new NpgsqlParameter("first", NpgsqlDbType.Integer) { Value = Stored });
                var stored = await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                Stored += stored;
                return stored;
            }
        }

        public override ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
