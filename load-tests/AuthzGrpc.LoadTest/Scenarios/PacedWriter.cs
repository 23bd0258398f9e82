using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using AuthzGrpc.V1;
using Grpc.Core;
using HdrHistogram;

namespace AuthzGrpc.LoadTest.Scenarios;

/// <summary>
/// Writes one relationship update per call through RelationshipService at a fixed rate, beside the checks, and records
/// each write's latency (separately from the checks') and the revision it committed. One write at a time: when a write
/// takes longer than the interval, the ticks it overlaps are skipped rather than queued.
/// </summary>
internal sealed class PacedWriter(double writesPerSecond, TimeSpan duration)
{
    private readonly LongConcurrentHistogram _latency = LatencySummary.NewHistogram();
    private readonly ConcurrentDictionary<StatusCode, long> _errors = new();
    private long? _firstRevision;
    private long? _lastRevision;

    /// <summary>The most writes of one measured phase: the rate times the duration, plus the first.</summary>
    public long MaxWrites { get; } = (long)Math.Ceiling(writesPerSecond * duration.TotalSeconds) + 1;

    /// <summary>Writes <paramref name="update"/> and records it; returns the committed revision, or null when the write failed.</summary>
    public async Task<long?> WriteAsync(RelationshipService.RelationshipServiceClient client, RelationshipUpdate update, CallOptions options)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            var response = await client.WriteRelationshipsAsync(new WriteRelationshipsRequest { Updates = { update } }, options).ConfigureAwait(false);
            _latency.RecordValue(LatencySummary.Microseconds(Stopwatch.GetElapsedTime(started)));
            var revision = long.Parse(response.Revision, NumberStyles.None, CultureInfo.InvariantCulture);
            _firstRevision ??= revision;
            _lastRevision = revision;
            return revision;
        }
        catch (RpcException e)
        {
            _errors.AddOrUpdate(e.StatusCode, 1, (_, n) => n + 1);
            return null;
        }
    }

    /// <summary>Calls <paramref name="writeOne"/> with 0, 1, 2… once per interval until <paramref name="stop"/> or <see cref="MaxWrites"/>.</summary>
    public async Task PaceAsync(Func<long, Task> writeOne, CancellationToken stop)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1 / writesPerSecond));
        for (var i = 0L; i < MaxWrites; i++)
        {
            try
            {
                if (!await timer.WaitForNextTickAsync(stop).ConfigureAwait(false))
                {
                    return;
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }

            await writeOne(i).ConfigureAwait(false);
        }
    }

    /// <summary>What was written so far.</summary>
    public WriteSummary Summary() => new(
        writesPerSecond,
        LatencySummary.Of(_latency),
        ErrorCounts.Of(_errors),
        _firstRevision?.ToString(CultureInfo.InvariantCulture),
        _lastRevision?.ToString(CultureInfo.InvariantCulture));

    /// <summary>A Touch (<paramref name="grant"/>) or Delete of <c>resource#relation@user:subject</c>.</summary>
    public static RelationshipUpdate Update(bool grant, string resourceType, string resourceId, string relation, string userId) => new()
    {
        Operation = grant ? Operation.Touch : Operation.Delete,
        Relationship = new Relationship
        {
            Resource = new ObjectRef { Type = resourceType, Id = resourceId },
            Relation = relation,
            Subject = new SubjectRef { Object = new ObjectRef { Type = "user", Id = userId } },
        },
    };
}
