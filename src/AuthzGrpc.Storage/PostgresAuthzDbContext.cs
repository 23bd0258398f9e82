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

    // The whole batch in one statement and one round trip: each column as an array parameter, unnested into rows.
    internal override async Task<int> InsertNewRelationshipsAsync(IReadOnlyList<Relationship> batch, long revision, CancellationToken cancellationToken)
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
            caveatContexts[i] = relationship.Caveat is { Context.IsEmpty: false } caveat ? caveat.Context.ToJson() : null;
        }

        var connection = (NpgsqlConnection)Database.GetDbConnection();
        var command = connection.CreateCommand();
        await using (command.ConfigureAwait(false))
        {
            command.Transaction = (NpgsqlTransaction?)Database.CurrentTransaction?.GetDbTransaction()
                ?? throw new InvalidOperationException("a bulk insert runs inside the write's transaction");
            command.CommandText = $"INSERT INTO relationships ({InsertedRelationshipColumns}) " +
                                  "SELECT r.*, @revision FROM unnest(@rt, @ri, @r, @st, @si, @sr, @e, @cn, @cc) AS r ON CONFLICT DO NOTHING";
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
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}
