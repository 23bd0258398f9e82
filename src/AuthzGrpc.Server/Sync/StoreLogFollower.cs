using AuthzGrpc.Server.Hosting;
using Microsoft.Extensions.Options;

namespace AuthzGrpc.Server.Sync;

/// <summary>
/// Follows one of the store's append-only logs (the change log for Watch, the audit log for WatchEvents) for a
/// server-streaming call: sends what the log holds after a position, in order, then what commits next, until the
/// client cancels or the server stops. Reading the store, not this process's memory, is what makes the stream
/// complete whichever replica committed; it is woken by this process's commits and catch-ups
/// (<see cref="EngineSync.Advanced"/>) and polls every <see cref="AuthzOptions.SyncIntervalMilliseconds"/> for the rest
/// (other replicas' commits, and writes that do not move the engine, such as invitations and API keys).
/// </summary>
internal sealed class StoreLogFollower(EngineSync sync, IHostApplicationLifetime lifetime, IOptions<AuthzOptions> options)
{
    private readonly TimeSpan _pollInterval = TimeSpan.FromMilliseconds(options.Value.SyncIntervalMilliseconds);

    /// <summary>
    /// Streams the log: <paramref name="start"/> fixes the position to follow from (it may throw to refuse the call;
    /// nothing has been sent then), the response headers go out, and then each batch <paramref name="read"/> returns
    /// after the position (at most <see cref="EngineSync.ChangeBatch"/> entries, oldest first) is passed to
    /// <paramref name="send"/>, which writes one entry and returns its position. Ends without an error when the server
    /// stops, so the client resumes from the last position it received.
    /// </summary>
    public async Task FollowAsync<TEntry>(
        ServerCallContext context,
        Func<CancellationToken, Task<long>> start,
        Func<long, int, CancellationToken, Task<IReadOnlyList<TEntry>>> read,
        Func<TEntry, CancellationToken, Task<long>> send)
    {
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, lifetime.ApplicationStopping);
        var cancellationToken = stopping.Token;
        var after = await start(cancellationToken).ConfigureAwait(false);

        // Send the headers now: once the client has them, the stream starts at a fixed position (useful for "from now
        // on"), and nothing committed after it is missed.
        await context.WriteResponseHeadersAsync([]).ConfigureAwait(false);
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                // Take the signal before reading, so a commit between the read and the wait is not missed.
                var advanced = sync.Advanced;
                var batch = await read(after, EngineSync.ChangeBatch, cancellationToken).ConfigureAwait(false);
                foreach (var entry in batch)
                {
                    after = await send(entry, cancellationToken).ConfigureAwait(false);
                }

                if (batch.Count < EngineSync.ChangeBatch)
                {
                    await Task.WhenAny(advanced, Task.Delay(_pollInterval, cancellationToken)).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (lifetime.ApplicationStopping.IsCancellationRequested && !context.CancellationToken.IsCancellationRequested)
        {
            // The server stops: end the stream cleanly; the client resumes from the last position it received.
        }
    }
}
