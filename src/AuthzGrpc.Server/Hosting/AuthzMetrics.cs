using System.Diagnostics;
using System.Diagnostics.Metrics;
using AuthzGrpc.Server.Sync;
using AuthzGrpc.V1;
using Google.Protobuf.Collections;

namespace AuthzGrpc.Server.Hosting;

/// <summary>The RPC a check measurement belongs to (the <c>rpc</c> tag).</summary>
internal enum CheckRpc
{
    /// <summary><c>check</c>: one decision per call.</summary>
    Check,

    /// <summary><c>batch_check</c>: one decision per item.</summary>
    BatchCheck,
}

/// <summary>
/// The server's instruments, on the meter <see cref="MeterName"/>, created through the host's
/// <see cref="IMeterFactory"/>:
/// <list type="bullet">
/// <item><c>authz.check.duration</c> (s, histogram; tags <c>rpc</c>, <c>consistency</c>): every Check and BatchCheck
/// call, answered or failed, from the service receiving it to the answer.</item>
/// <item><c>authz.check.decisions</c> ({decision}, counter; tags <c>rpc</c>, <c>outcome</c> = allowed | denied | error):
/// one per Check, one per BatchCheck item; a call that fails counts one error whatever it carried.</item>
/// <item><c>authz.engine.revision_lag</c> ({revision}, gauge): the newest revision this replica has seen the store
/// commit minus the revision its engine answers at.</item>
/// <item><c>authz.engine.revision</c> ({revision}, gauge) and <c>authz.engine.relationships</c> ({relationship},
/// gauge): the engine in force.</item>
/// <item><c>authz.engine.sync.age</c> (s, gauge): how long ago this replica last read the store's newest revision (the
/// background poll, or a fully_consistent request); it grows while the store cannot be read, when the lag cannot
/// tell.</item>
/// </list>
/// Recording allocates nothing: each combination of tags is an array built once and passed as a span. The gauges are
/// read on scrape from what the engine and <see cref="EngineSync"/> already hold, with no database call.
/// </summary>
internal sealed class AuthzMetrics
{
    /// <summary>The server's meter.</summary>
    public const string MeterName = "AuthzGrpc.Server";

    /// <summary>The meter of the cache layer (<c>src/AuthzGrpc.Cache</c>), exported with the server's.</summary>
    public const string CacheMeterName = "AuthzGrpc.Cache";

    // From memory a check answers in microseconds; one that waits for the store (at_least, fully_consistent) in
    // milliseconds; anything near a second is an incident. Boundaries in seconds, roughly 1-2.5-5 per decade.
    private static readonly double[] DurationBuckets =
        [0.000_005, 0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

    private static readonly string[] RpcNames = ["check", "batch_check"];

    // The index is ConsistencyIndex's: unset and minimize_latency answer alike (RequestValidation.Consistency).
    private static readonly string[] ConsistencyNames = ["minimize_latency", "at_least", "fully_consistent"];

    private static readonly string[] OutcomeNames = ["allowed", "denied", "error"];

    private readonly EngineHolder _holder;
    private readonly EngineSync _sync;
    private readonly Histogram<double> _checkDuration;
    private readonly Counter<long> _decisions;

    // [rpc * ConsistencyNames.Length + consistency] and [rpc * OutcomeNames.Length + outcome].
    private readonly KeyValuePair<string, object?>[][] _durationTags;
    private readonly KeyValuePair<string, object?>[][] _decisionTags;

    public AuthzMetrics(IMeterFactory meterFactory, EngineHolder holder, EngineSync sync)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        _holder = holder;
        _sync = sync;
        var meter = meterFactory.Create(MeterName);
        _checkDuration = meter.CreateHistogram<double>(
            "authz.check.duration", "s", "How long Check and BatchCheck calls take, answered or failed.", tags: null,
            new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        _decisions = meter.CreateCounter<long>(
            "authz.check.decisions", "{decision}", "Check decisions (one per BatchCheck item) by outcome; a failed call counts one error.");
        meter.CreateObservableGauge<long>(
            "authz.engine.revision_lag", ObserveRevisionLag, "{revision}",
            "The newest revision this replica has seen the store commit minus the revision its engine answers at.");
        meter.CreateObservableGauge<long>(
            "authz.engine.revision", () => ObserveEngine(static engine => engine.Revision), "{revision}",
            "The revision the engine answers at.");
        meter.CreateObservableGauge<long>(
            "authz.engine.relationships", () => ObserveEngine(static engine => engine.RelationshipCount), "{relationship}",
            "The relationships the engine holds.");
        meter.CreateObservableGauge<double>(
            "authz.engine.sync.age", ObserveSyncAge, "s",
            "Seconds since this replica last read the store's newest revision (the poll or a fully_consistent request).");

        _durationTags = Combine(RpcNames, "consistency", ConsistencyNames);
        _decisionTags = Combine(RpcNames, "outcome", OutcomeNames);
    }

    /// <summary>Records a call that answered: its duration since <paramref name="started"/> and its decision.</summary>
    public void RecordCheck(CheckRpc rpc, Consistency? consistency, Decision decision, long started)
    {
        RecordDuration(rpc, consistency, started);
        _decisions.Add(1, _decisionTags[DecisionIndex(rpc, decision == Decision.Allowed ? 0 : 1)]);
    }

    /// <summary>Records a BatchCheck that answered: its duration and one decision per result.</summary>
    public void RecordBatchCheck(Consistency? consistency, RepeatedField<CheckResponse> results, long started)
    {
        ArgumentNullException.ThrowIfNull(results);
        RecordDuration(CheckRpc.BatchCheck, consistency, started);
        var allowed = 0;
        for (var i = 0; i < results.Count; i++)
        {
            if (results[i].Decision == Decision.Allowed)
            {
                allowed++;
            }
        }

        if (allowed > 0)
        {
            _decisions.Add(allowed, _decisionTags[DecisionIndex(CheckRpc.BatchCheck, 0)]);
        }

        if (results.Count > allowed)
        {
            _decisions.Add(results.Count - allowed, _decisionTags[DecisionIndex(CheckRpc.BatchCheck, 1)]);
        }
    }

    /// <summary>Records a call that failed (bad input, an engine or store error, cancellation): its duration and one error.</summary>
    public void RecordCheckFailed(CheckRpc rpc, Consistency? consistency, long started)
    {
        RecordDuration(rpc, consistency, started);
        _decisions.Add(1, _decisionTags[DecisionIndex(rpc, 2)]);
    }

    private static int DecisionIndex(CheckRpc rpc, int outcome) => ((int)rpc * OutcomeNames.Length) + outcome;

    private static int ConsistencyIndex(Consistency? consistency) => consistency?.RequirementCase switch
    {
        Consistency.RequirementOneofCase.AtLeast => 1,
        Consistency.RequirementOneofCase.FullyConsistent when consistency.FullyConsistent => 2,
        _ => 0,
    };

    private static KeyValuePair<string, object?>[][] Combine(string[] rpcs, string key, string[] values)
    {
        var tags = new KeyValuePair<string, object?>[rpcs.Length * values.Length][];
        for (var rpc = 0; rpc < rpcs.Length; rpc++)
        {
            for (var value = 0; value < values.Length; value++)
            {
                tags[(rpc * values.Length) + value] = [new("rpc", rpcs[rpc]), new(key, values[value])];
            }
        }

        return tags;
    }

    private void RecordDuration(CheckRpc rpc, Consistency? consistency, long started)
    {
        // Without a listener (metrics off) skip reading the clock.
        if (_checkDuration.Enabled)
        {
            _checkDuration.Record(
                Stopwatch.GetElapsedTime(started).TotalSeconds,
                _durationTags[((int)rpc * ConsistencyNames.Length) + ConsistencyIndex(consistency)]);
        }
    }

    // Before the model is loaded there is no engine to report on: report nothing rather than a made-up zero.
    private IEnumerable<Measurement<long>> ObserveEngine(Func<Core.Engine.PermissionEngine, long> read) =>
        _holder.IsLoaded ? [new Measurement<long>(read(_holder.Current))] : [];

    private IEnumerable<Measurement<long>> ObserveRevisionLag() =>
        ObserveEngine(engine => Math.Max(0, _sync.NewestCommittedRevision - engine.Revision));

    private IEnumerable<Measurement<double>> ObserveSyncAge() =>
        _sync.StoreReadTimestamp is var read and not 0 ? [new Measurement<double>(Stopwatch.GetElapsedTime(read).TotalSeconds)] : [];
}
