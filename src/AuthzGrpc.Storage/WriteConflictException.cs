namespace AuthzGrpc.Storage;

/// <summary>
/// A write judged at one revision met a database that had committed past it (see <see cref="AuthzDatabase.JudgedAt"/>):
/// it was rolled back before changing anything. A concurrency failure like any other at commit, so a caller that does
/// not judge again answers it as one (ABORTED: retry).
/// </summary>
public sealed class WriteConflictException : DbUpdateConcurrencyException
{
    /// <summary>Creates the error.</summary>
    public WriteConflictException(long judgedAt, long committed)
        : base($"the write was judged at revision {judgedAt}, but the database has committed revision {committed} since")
    {
        JudgedAt = judgedAt;
        Committed = committed;
    }

    /// <summary>The revision the write was judged at.</summary>
    public long JudgedAt { get; }

    /// <summary>The revision the database had committed when the write took its lock.</summary>
    public long Committed { get; }
}
