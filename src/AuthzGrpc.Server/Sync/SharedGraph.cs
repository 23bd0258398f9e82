using AuthzGrpc.Cache;
using AuthzGrpc.Server.Hosting;
using AuthzGrpc.Storage;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace AuthzGrpc.Server.Sync;

/// <summary>
/// The shared permission graph in Redis, when configured (<c>Authz:Redis:Configuration</c>); <see cref="Graph"/> is
/// null when it is not, and every check is answered from the replica's model.
/// </summary>
internal sealed class SharedGraph(IOptions<RedisGraphOptions> options, ILogger<RedisGraph> logger, TimeProvider clock) : IAsyncDisposable
{
    public RedisGraph? Graph { get; } = options.Value.Configuration.Length == 0 ? null : new RedisGraph(options.Value, logger, clock);

    public ValueTask DisposeAsync() => Graph?.DisposeAsync() ?? ValueTask.CompletedTask;
}

/// <summary>
/// One round of a replica's upkeep of the shared graph: a full replica brings Redis up to its engine
/// (<see cref="RedisGraph.MaintainAsync"/>); a check replica, which holds no engine, refreshes its schema and follows
/// what full replicas publish (<see cref="RedisGraph.FollowAsync"/>).
/// </summary>
internal delegate Task GraphUpkeep(RedisGraph graph, CancellationToken cancellationToken);

/// <summary>
/// Connects the shared graph once the model is loaded, bound to the database's identity (its keys, channel and lock
/// are the database's own; a graph found there is served only once proven built from this database's history), then
/// keeps it in step: whenever the graph asks (a reconnect, a flushed or missing graph, another generation) and every
/// <see cref="AuthzOptions.SyncIntervalMilliseconds"/>, runs the replica's <see cref="GraphUpkeep"/>, which turns the
/// near cache on or off.
/// </summary>
internal sealed class SharedGraphService(
    SharedGraph shared, ISchemaInForce schemas, GraphUpkeep upkeep, AuthzDatabase database, IOptions<AuthzOptions> options, ILogger<SharedGraphService> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (shared.Graph is not { } graph)
        {
            return;
        }

        var interval = TimeSpan.FromMilliseconds(options.Value.SyncIntervalMilliseconds);
        try
        {
            // The database's identity is known once the store is open (migrated, identity given): until then checks are
            // answered from the model, as while the graph is starting.
            string? databaseId = null;
            while (databaseId is null)
            {
                if (schemas.IsLoaded)
                {
                    try
                    {
                        databaseId = await database.DatabaseIdAsync(stoppingToken).ConfigureAwait(false);
                        break;
                    }
#pragma warning disable CA1031 // A database outage at start: the next round retries.
                    catch (Exception e) when (e is not OperationCanceledException)
#pragma warning restore CA1031
                    {
                        Log.SharedGraphMaintenanceFailed(logger, e);
                    }
                }

                await Task.Delay(interval, stoppingToken).ConfigureAwait(false);
            }

            await graph.StartAsync(new GraphBinding(databaseId, database.RevisionMarkerAsync)).ConfigureAwait(false);
            while (!stoppingToken.IsCancellationRequested)
            {
                if (schemas.IsLoaded)
                {
                    try
                    {
                        await upkeep(graph, stoppingToken).ConfigureAwait(false);
                    }
#pragma warning disable CA1031 // The upkeep must survive a database outage; the next round retries (stopping ends it).
                    catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
#pragma warning restore CA1031
                    {
                        Log.SharedGraphMaintenanceFailed(logger, e);
                    }
                }

                await graph.WaitForMaintenanceRequestAsync(interval, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}

/// <summary>
/// The shared graph's health, reported as its own gRPC health service (<see cref="ServiceName"/>): NOT_SERVING while
/// Redis is unreachable or failing (checks are degraded to the source of truth: still correct, slower); SERVING
/// otherwise — while starting or catching up the check reports Degraded with the reason, which the gRPC protocol
/// cannot carry. The server's overall health leaves it out: a degraded replica still answers every call.
/// </summary>
internal sealed class SharedGraphHealthCheck(SharedGraph shared) : IHealthCheck
{
    /// <summary>The gRPC health service name that reports the shared graph.</summary>
    public const string ServiceName = "authz.v1.SharedGraph";

    /// <summary>The tag that keeps this check out of the overall status.</summary>
    public const string Tag = "shared-graph";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(shared.Graph?.Status switch
        {
            null => HealthCheckResult.Healthy("no shared graph configured (Authz:Redis:Configuration): checks are answered from the model"),
            GraphStatus.Serving => HealthCheckResult.Healthy("checks are served from the near cache and Redis"),
            GraphStatus.Unreachable => HealthCheckResult.Unhealthy("degraded: Redis is unreachable; checks are answered from the source of truth"),
            GraphStatus.Failing => HealthCheckResult.Unhealthy("degraded: a Redis call failed or timed out; checks are answered from the source of truth for a while"),
            _ => HealthCheckResult.Degraded("the shared graph is starting, being rebuilt or caught up; checks are answered from the source of truth"),
        });
}
