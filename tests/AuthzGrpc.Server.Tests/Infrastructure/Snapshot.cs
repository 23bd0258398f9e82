using AuthzGrpc.Core.Schema;
using AuthzGrpc.Storage;
using AuthzGrpc.V1;
using Grpc.Core;

namespace AuthzGrpc.Server.Tests.Infrastructure;

/// <summary>What a server holds, read through the API and through its store, to compare before and after.</summary>
public sealed record Snapshot(string Schema, string SchemaRevision, long StoredRevision, IReadOnlyList<string> Relationships, int AuditEvents)
{
    /// <summary>Equal when every field is, the relationships compared item by item.</summary>
    public bool Equals(Snapshot? other) =>
        other is not null && Schema == other.Schema && SchemaRevision == other.SchemaRevision && StoredRevision == other.StoredRevision &&
        AuditEvents == other.AuditEvents && Relationships.SequenceEqual(other.Relationships, StringComparer.Ordinal);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(SchemaRevision, StoredRevision, Relationships.Count, AuditEvents);

    /// <inheritdoc/>
    public override string ToString() =>
        $"schema revision {SchemaRevision}, stored revision {StoredRevision}, {Relationships.Count} relationships, {AuditEvents} audit events";

    /// <summary>Reads the schema and every relationship through the API and the revision and audit count from the store.</summary>
    public static async Task<Snapshot> TakeAsync(StoreServer server)
    {
        var schema = await server.Schema.ReadSchemaAsync(new ReadSchemaRequest());
        var relationships = new List<string>();
        foreach (var type in CompiledSchema.Compile(schema.Schema).Types)
        {
            var (read, _) = await ReadAsync(server.Relationships, Requests.Filter(type.Name));
            relationships.AddRange(read);
        }

        relationships.Sort(StringComparer.Ordinal);
        var stored = await StoredAsync(server.Store);
        Assert.Equal(stored, relationships);
        var audit = await server.Store.Audit.ReadAsync(limit: 100_000);
        return new Snapshot(schema.Schema, schema.Revision, await server.Store.Model.CurrentRevisionAsync(), relationships, audit.Count);
    }

    /// <summary>Streams a ReadRelationships; returns the relationships as text (sorted) and the revision of the stream.</summary>
    public static async Task<(List<string> Relationships, string? Revision)> ReadAsync(
        RelationshipService.RelationshipServiceClient client, RelationshipFilter filter)
    {
        using var call = client.ReadRelationships(new ReadRelationshipsRequest { Filter = filter });
        var responses = await call.ResponseStream.ReadAllAsync().ToListAsync();
        Assert.True(responses.Select(r => r.Revision).Distinct().Count() <= 1, "one revision per stream");
        return ([.. responses.Select(r => Requests.Text(r.Relationship)).Order(StringComparer.Ordinal)], responses.FirstOrDefault()?.Revision);
    }

    /// <summary>Every relationship in the store, as text, sorted.</summary>
    public static async Task<List<string>> StoredAsync(AuthzStore store) =>
        [.. (await store.Model.LoadAsync()).Relationships.Select(r => r.ToString()).Order(StringComparer.Ordinal)];
}
