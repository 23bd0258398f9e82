using System.Globalization;
using AuthzGrpc.Core.Schema;
using AuthzGrpc.Storage;

namespace AuthzGrpc.Server.Sync;

/// <summary>A compiled schema and the revision that stored it.</summary>
internal sealed record HeldSchema(CompiledSchema Schema, long Revision);

/// <summary>
/// The schema a check replica (<c>Authz:Role=check</c>) resolves checks against: the newest stored version it has
/// read. It moves only forward, whenever a read — the shared graph's upkeep, or a check read from a database snapshot —
/// finds a newer version. A check read from the database always uses the version of its own snapshot
/// (<see cref="Resolve"/>), so this one being behind never makes an answer wrong; the shared graph serves only
/// while Redis holds this schema's graph.
/// </summary>
internal sealed class CheckReplicaSchema(ModelStore model, ILogger<CheckReplicaSchema> logger) : ISchemaInForce
{
    private HeldSchema? _held;

    /// <summary>The newest version read, or null before the first.</summary>
    public HeldSchema? Held => Volatile.Read(ref _held);

    /// <inheritdoc/>
    public bool IsLoaded => Held is not null;

    /// <inheritdoc/>
    public CompiledSchema Schema => (Held ?? throw new InvalidOperationException("the schema is not loaded yet")).Schema;

    /// <inheritdoc/>
    public string Describe() => string.Create(
        CultureInfo.InvariantCulture,
        $"check replica: the schema written at revision {Held?.Revision} is loaded; relationships are read from the shared graph or the database");

    /// <summary>Reads the newest stored version, compiling it when it is not the one held; false when the database holds none.</summary>
    public async Task<bool> RefreshAsync(CancellationToken cancellationToken)
    {
        var held = Held;
        var stored = await model.ReadSchemaAsync(held?.Revision ?? -1, cancellationToken).ConfigureAwait(false);
        if (stored is null)
        {
            return false;
        }

        Resolve(held, stored);
        return true;
    }

    /// <summary>
    /// The schema of <paramref name="stored"/>, read while <paramref name="held"/> was held (its text is null when it is
    /// that version); put in force when it is newer than the one held now. Throws <see cref="SchemaException"/> when the
    /// stored text does not compile.
    /// </summary>
    public CompiledSchema Resolve(HeldSchema? held, StoredSchema stored)
    {
        ArgumentNullException.ThrowIfNull(stored);
        if (held is not null && held.Revision == stored.Revision)
        {
            return held.Schema;
        }

        var read = new HeldSchema(
            CompiledSchema.Compile(stored.Text ?? throw new InvalidOperationException("a schema version was read without its text")), stored.Revision);
        for (var current = Held; current is null || current.Revision < read.Revision; current = Held)
        {
            if (ReferenceEquals(Interlocked.CompareExchange(ref _held, read, current), current))
            {
                Log.CheckReplicaSchemaChanged(logger, read.Revision, read.Schema.Types.Count);
                break;
            }
        }

        return read.Schema;
    }
}
