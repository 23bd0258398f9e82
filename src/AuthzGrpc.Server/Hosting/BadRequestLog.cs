namespace AuthzGrpc.Server.Hosting;

/// <summary>
/// The Debug log of requests refused before they reach a service (a body that is not the request message, a path
/// that is not a method's name): anyone can send these, authenticated or not, so at most one entry is written per
/// second, carrying how many were left out since the last. Nothing of the body is logged.
/// </summary>
internal sealed class BadRequestLog(ILogger<BadRequestLog> logger, TimeProvider time)
{
    private readonly long _interval = time.TimestampFrequency;
    private long _next;
    private long _skipped;

    /// <summary>Notes that a call to <paramref name="method"/> was refused for <paramref name="problem"/>.</summary>
    public void Refused(string method, string problem)
    {
        if (!logger.IsEnabled(LogLevel.Debug))
        {
            return;
        }

        var now = time.GetTimestamp();
        var next = Interlocked.Read(ref _next);
        if (now < next || Interlocked.CompareExchange(ref _next, now + _interval, next) != next)
        {
            Interlocked.Increment(ref _skipped);
            return;
        }

        var skipped = Interlocked.Exchange(ref _skipped, 0);
        Log.BadRequestRefused(logger, method, problem, skipped);
    }
}
