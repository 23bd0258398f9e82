using System.Globalization;
using AuthzGrpc.Core.Graph;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace AuthzGrpc.Cache;

/// <summary>Whether checks are served from the shared graph (<see cref="RedisGraph.Status"/>).</summary>
public enum GraphStatus
{
    /// <summary>Not connected yet: checks are answered from the source of truth.</summary>
    Starting,

    /// <summary>Checks are served from the near cache and Redis.</summary>
    Serving,

    /// <summary>Redis is reachable, but its graph is being rebuilt or caught up (or the near cache re-proved fresh): checks are answered from the source of truth.</summary>
    CatchingUp,

    /// <summary>Redis is unreachable: checks are answered from the source of truth until it is back.</summary>
    Unreachable,

    /// <summary>A Redis call failed or timed out recently: checks are answered from the source of truth for a while.</summary>
    Failing,
}

/// <summary>
/// What Redis's meta hash says: the generation it holds completely, through which revision, and the marker the
/// database gave that revision when it committed it (null when the hash has none).
/// </summary>
internal sealed record GraphMeta(string Generation, long Applied, string? Marker);

/// <summary>
/// Reads the marker of a committed revision from the source of truth: null when the database has no such revision
/// (it is behind what was read from Redis). See <see cref="GraphBinding"/>.
/// </summary>
public delegate Task<string?> RevisionMarkerReader(long revision, CancellationToken cancellationToken);

/// <summary>
/// The database the shared graph belongs to. <paramref name="DatabaseId"/> (created with the database, the same for
/// every replica of it) namespaces every key and the invalidation channel; <paramref name="ReadMarker"/> proves that
/// the graph found under that namespace was built from this database's own history — not from a backup it was restored
/// from, nor from a copy that went on being written — before a check is served from it.
/// </summary>
/// <param name="DatabaseId">The database's identity: letters, digits, '_' or '-', at most 64.</param>
/// <param name="ReadMarker">Reads a committed revision's marker from the database.</param>
public sealed record GraphBinding(string DatabaseId, RevisionMarkerReader ReadMarker);

/// <summary>
/// The shared permission graph in Redis and this process's near cache in front of it: the connection, the
/// invalidation subscription, and the state that decides whether checks may use either (<see cref="IsAvailable"/>).
/// Reads are in <c>RedisGraph.Read.cs</c>, writes (write-through after commits, rebuilds) in <c>RedisGraph.Write.cs</c>.
/// <para>
/// It fails closed: any Redis error or timeout makes the check that met it — and every check for
/// <see cref="RedisGraphOptions.RetryAfterFailureMilliseconds"/> after it — answer from the source of truth instead,
/// and drops the near cache until Redis is back and its freshness is proven again.
/// </para>
/// </summary>
public sealed partial class RedisGraph : IAsyncDisposable
{
    private readonly RedisGraphOptions _options;
    private readonly ILogger _logger;
    private readonly NearCache _near;
    private GraphKeys? _keys;
    private GraphBinding? _binding;

    // The last meta hash proven to describe this database's history (IsOursAsync): rereading the same needs no database read.
    private GraphMeta? _verified;
    private readonly TimeSpan _timeout;
    private readonly SemaphoreSlim _maintenanceRequested = new(0, 1);
    private readonly TimeProvider _clock;
    private ConnectionMultiplexer? _connection;
    private long _retryAfterTicks;

    // Whether this process listens for invalidations: the near cache is turned on only while it does.
    private volatile bool _subscribed;

    /// <summary>
    /// Creates the graph client; nothing connects until <see cref="StartAsync"/>. Expiring relationships are judged by
    /// <paramref name="clock"/> (the system's by default), as the replica's model judges them.
    /// </summary>
    public RedisGraph(RedisGraphOptions options, ILogger<RedisGraph> logger, TimeProvider? clock = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _clock = clock ?? TimeProvider.System;
        _logger = logger;
        _near = new NearCache(options.NearCacheMaxWeight);
        _timeout = TimeSpan.FromMilliseconds(options.TimeoutMilliseconds);
        Metrics = new CacheMetrics();
        Metrics.Observe(_near, this);
    }

    /// <summary>Counts of where checks were answered from, round trips, invalidations and failures.</summary>
    public CacheMetrics Metrics { get; }

    /// <summary>Whether checks may use Redis now: connected, and not backing off after a failure.</summary>
    public bool IsAvailable =>
        _connection is { IsConnected: true } && Environment.TickCount64 >= Interlocked.Read(ref _retryAfterTicks);

    /// <summary>Whether checks are served from the shared graph now, and if not, why.</summary>
    public GraphStatus Status =>
        _connection is null ? GraphStatus.Starting
        : !_connection.IsConnected ? GraphStatus.Unreachable
        : !IsAvailable ? GraphStatus.Failing
        : !_near.IsServing ? GraphStatus.CatchingUp
        : GraphStatus.Serving;

    /// <summary>The revision the near cache is known fresh at (-1 while it is off).</summary>
    public long NearCacheRevision => _near.Revision;

    /// <summary>
    /// Binds the graph to its database (<paramref name="binding"/>: every key and the channel are under its identity),
    /// connects (without waiting for Redis to be up: the client keeps retrying in the background) and subscribes to
    /// invalidations.
    /// </summary>
    public async Task StartAsync(GraphBinding binding)
    {
        ArgumentNullException.ThrowIfNull(binding);
        if (binding.DatabaseId.Length is 0 or > 64 || !binding.DatabaseId.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-'))
        {
            throw new ArgumentException($"'{binding.DatabaseId}' is not a database identity: letters, digits, '_' or '-', at most 64", nameof(binding));
        }

        _binding = binding;
        _keys = new GraphKeys(_options.KeyPrefix, binding.DatabaseId);
        var configuration = ConfigurationOptions.Parse(_options.Configuration);
        configuration.AbortOnConnectFail = false;
        configuration.ConnectTimeout = Math.Max(_options.TimeoutMilliseconds, 1000);
        // The client's own timeouts bound the write path (write-through, rebuilds of many records); checks wait at most
        // TimeoutMilliseconds on top of that (WithTimeout), then answer from the source of truth.
        configuration.SyncTimeout = Math.Max(_options.TimeoutMilliseconds, 5000);
        configuration.AsyncTimeout = Math.Max(_options.TimeoutMilliseconds, 5000);
        configuration.ClientName ??= $"authzgrpc-{Environment.ProcessId}";
        var connection = await ConnectionMultiplexer.ConnectAsync(configuration).ConfigureAwait(false);
        connection.ConnectionFailed += (_, e) => OnConnectionFailed(e.Exception);
        connection.ConnectionRestored += (_, _) => RequestMaintenance();
        _connection = connection;
        await SubscribeAsync().ConfigureAwait(false);
        RequestMaintenance();
    }

    /// <summary>
    /// Waits until something asks for maintenance (a reconnect, a missing graph, a generation change) or
    /// <paramref name="timeout"/> passes.
    /// </summary>
    public Task<bool> WaitForMaintenanceRequestAsync(TimeSpan timeout, CancellationToken cancellationToken) =>
        _maintenanceRequested.WaitAsync(timeout, cancellationToken);

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (_connection is { } connection)
        {
            await connection.CloseAsync().ConfigureAwait(false);
            connection.Dispose();
        }

        Metrics.Dispose();
        _maintenanceRequested.Dispose();
    }

    private IDatabase Database => (_connection ?? throw new InvalidOperationException("the graph is not started")).GetDatabase();

    private GraphKeys Keys => _keys ?? throw new InvalidOperationException("the graph is not started");

    // Redis may be down when the server starts: upkeep subscribes once it is reachable (the client then keeps the
    // subscription across reconnects).
    private async Task SubscribeAsync()
    {
        if (_subscribed || _connection is not { IsConnected: true } connection)
        {
            return;
        }

        try
        {
            await connection.GetSubscriber().SubscribeAsync(Keys.Invalidations, (_, message) => OnInvalidation(message)).ConfigureAwait(false);
            _subscribed = true;
        }
        catch (RedisException e)
        {
            Log.RedisFailed(_logger, e.Message);
        }
    }

    private void RequestMaintenance()
    {
        try
        {
            _maintenanceRequested.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already requested.
        }
    }

    private void OnConnectionFailed(Exception? exception)
    {
        // Invalidations may be missed from now on: nothing held can be proven fresh.
        _near.TurnOff();
        Log.ConnectionLost(_logger, exception?.Message ?? "connection failed");
    }

    // A Redis call failed or timed out: checks skip Redis for a while, and the near cache (whose invalidations may be
    // lost) is dropped until maintenance proves it fresh again.
    private void Fail(Exception exception)
    {
        Metrics.Failed();
        Interlocked.Exchange(ref _retryAfterTicks, Environment.TickCount64 + _options.RetryAfterFailureMilliseconds);
        _near.TurnOff();
        RequestMaintenance();
        Log.RedisFailed(_logger, exception.Message);
    }

    private async Task<GraphMeta?> ReadMetaAsync(IDatabaseAsync database)
    {
        var fields = await database.HashGetAsync(Keys.Meta, MetaFields).ConfigureAwait(false);
        return ParseMeta(fields);
    }

    private static readonly RedisValue[] MetaFields = ["gen", "applied", "marker"];

    private static GraphMeta? ParseMeta(RedisValue[] fields) =>
        fields.Length == 3 && fields[0].HasValue && fields[1].HasValue &&
        long.TryParse((string?)fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var applied)
            ? new GraphMeta((string)fields[0]!, applied, fields[2].HasValue ? (string?)fields[2] : null)
            : null;

    /// <summary>
    /// Whether the graph <paramref name="meta"/> describes was built from this database's own history: the database has
    /// committed the revision Redis applied, with the marker Redis recorded for it. Not so — Redis is ahead of the
    /// database (restored from an older backup), or the revision was committed by another history (the restored
    /// database written on past it; a copy of the database run elsewhere) — and the graph is rebuilt, never served.
    /// </summary>
    private async Task<bool> IsOursAsync(GraphMeta meta, CancellationToken cancellationToken)
    {
        if (meta.Equals(Volatile.Read(ref _verified)))
        {
            return true;
        }

        var marker = await ReadMarkerAsync(meta.Applied, cancellationToken).ConfigureAwait(false);
        if (marker is null || meta.Marker is null || !string.Equals(marker, meta.Marker, StringComparison.Ordinal))
        {
            return false;
        }

        Volatile.Write(ref _verified, meta);
        return true;
    }

    // The database's marker of a revision; a database that fails is reported as MarkerUnreadableException, so the graph
    // is neither served nor written until it answers again (never taken as "not ours" and rebuilt on a hunch).
    private async Task<string?> ReadMarkerAsync(long revision, CancellationToken cancellationToken)
    {
        var binding = _binding ?? throw new InvalidOperationException("the graph is not started");
        try
        {
            return await binding.ReadMarker(revision, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new MarkerUnreadableException(e);
        }
    }

    /// <summary>The database did not answer for a revision's marker: whose graph Redis holds cannot be proven now.</summary>
    private sealed class MarkerUnreadableException(Exception inner) : Exception($"the database did not answer: {inner.Message}", inner);

    // "v1 <generation> <from> <to> <type:id> ...", "v1 <generation> reset <applied>", or "v1 <generation> incomplete 0"
    // (a replica found records of the generation missing: PublishIncomplete). A message this process cannot read (another
    // version, a stray publisher) proves nothing fresh: everything held is dropped.
    private void OnInvalidation(RedisValue message)
    {
        var parts = ((string?)message ?? string.Empty).Split(' ');
        if (parts is ["v1", var lost, "incomplete", _])
        {
            // Whoever can rebuild (a replica with an engine) does so at its next upkeep, requested now.
            Interlocked.Exchange(ref _incomplete, lost);
            if (lost == _near.Generation)
            {
                _near.TurnOff();
            }

            RequestMaintenance();
            return;
        }

        var schema = _near.Schema;
        if (schema is null)
        {
            // The near cache is off and the graph moved (a rebuild, a write): a replica that only follows it looks again now.
            RequestMaintenance();
            return;
        }

        if (parts.Length < 4 || parts[0] != "v1" || !long.TryParse(parts[3], NumberStyles.None, CultureInfo.InvariantCulture, out var to))
        {
            _near.TurnOff();
            RequestMaintenance();
            return;
        }

        var generation = parts[1];
        if (generation != _near.Generation)
        {
            // Redis now holds another schema's graph: what is held here is no longer maintained.
            _near.TurnOff();
            RequestMaintenance();
            return;
        }

        if (parts[2] == "reset")
        {
            _near.Reset(schema, generation, to);
            Metrics.Invalidated(everything: true);
            return;
        }

        if (!long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var from))
        {
            _near.TurnOff();
            RequestMaintenance();
            return;
        }

        var keys = new List<RecordKey>(parts.Length - 4);
        for (var i = 4; i < parts.Length; i++)
        {
            var colon = parts[i].IndexOf(':', StringComparison.Ordinal);
            if (colon > 0 && schema.TryGetType(parts[i][..colon], out var type))
            {
                keys.Add(new RecordKey(type.Index, parts[i][(colon + 1)..]));
            }
        }

        Metrics.Invalidated(_near.Invalidate(generation, from, to, keys));
    }
}
