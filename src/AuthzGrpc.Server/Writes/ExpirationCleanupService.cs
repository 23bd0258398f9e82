using AuthzGrpc.Server.Hosting;
using AuthzGrpc.Server.Sync;
using Microsoft.Extensions.Options;

namespace AuthzGrpc.Server.Writes;

/// <summary>
/// Deletes expired relationships in the background, every <see cref="AuthzOptions.ExpirationCleanupIntervalMilliseconds"/>
/// of the server's clock, through the one write path (<see cref="ModelWriter.DeleteExpiredAsync"/>), in batches of at
/// most <see cref="BatchSize"/> and at most <see cref="MaxBatchesPerRound"/> batches a round, so one round is bounded
/// however much has expired. Correctness never waits for it: an expired relationship grants nothing already.
/// </summary>
internal sealed class ExpirationCleanupService(
    ModelWriter writer, EngineHolder holder, IOptions<AuthzOptions> options, TimeProvider clock, ILogger<ExpirationCleanupService> logger)
    : BackgroundService
{
    /// <summary>The actor the cleanup's revisions and audit events name.</summary>
    public const string Actor = "system:expiration";

    /// <summary>Most relationships one cleanup revision deletes.</summary>
    public const int BatchSize = 1000;

    /// <summary>Most revisions one round commits; the rest waits for the next round.</summary>
    public const int MaxBatchesPerRound = 100;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(options.Value.ExpirationCleanupIntervalMilliseconds), clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                // Without 'use expiration' nothing can expire: the round would only take the write lock for nothing.
                if (holder.IsLoaded && holder.Current.Schema.UsesExpiration)
                {
                    await RoundAsync(stoppingToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task RoundAsync(CancellationToken stoppingToken)
    {
        try
        {
            for (var batch = 0; batch < MaxBatchesPerRound; batch++)
            {
                var deletion = await writer.DeleteExpiredAsync(BatchSize, Actor, stoppingToken).ConfigureAwait(false);
                if (deletion.Deleted.Count > 0)
                {
                    Log.ExpiredRelationshipsDeleted(logger, deletion.Deleted.Count, deletion.Revision);
                }

                if (deletion.Deleted.Count < BatchSize)
                {
                    return;
                }
            }
        }
#pragma warning disable CA1031 // The cleanup must survive a database outage; the next round retries (stopping ends it).
        catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
#pragma warning restore CA1031
        {
            Log.ExpirationCleanupFailed(logger, e);
        }
    }
}
