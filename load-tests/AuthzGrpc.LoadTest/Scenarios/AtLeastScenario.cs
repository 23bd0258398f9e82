using System.Globalization;
using AuthzGrpc.LoadData;
using AuthzGrpc.V1;
using Grpc.Core;

namespace AuthzGrpc.LoadTest.Scenarios;

/// <summary>
/// Read-your-writes under load. A writer alternately grants and revokes <c>project#viewer</c> on the scenario's project
/// to <c>user:lt-probe</c>, a user with no other access; every check carries the revision token of the last write it has
/// seen committed (<c>consistency.at_least</c>). Three checks in four are the scattered mix; the fourth asks whether the
/// probe may view the project and is judged against the write history (<see cref="ProbeVerdict"/>): the answer must be
/// the state of a revision at or after the one reported, itself at or after the token — so a revoke carried by the
/// token is never missed (Zanzibar's "new enemy" rule).
/// </summary>
internal sealed class AtLeastScenario(PlatformDataSet data, RunSettings settings) : Scenario
{
    private const string ProbeUser = "lt-probe";

    private readonly CheckPool _pool = CheckPool.Scattered(data);
    private readonly PacedWriter _writer = new(settings.WritesPerSecond, settings.Duration);
    private readonly ProbeHistory _history = new();
    private readonly string _project = data.Scenario.Project;
    private Consistency? _token;
    private long _probeChecks;
    private long _violations;
    private long _unverified;
    private long _newerThanReported;

    public override string Name => ScenarioCatalog.AtLeast;

    public override WriteSummary? Writes => _writer.Summary();

    public override ConsistencySummary? Consistency => new(
        Interlocked.Read(ref _probeChecks), Interlocked.Read(ref _violations), Interlocked.Read(ref _newerThanReported), Interlocked.Read(ref _unverified));

    public override async Task PrepareAsync(RelationshipService.RelationshipServiceClient writer, CallOptions options)
    {
        // Start from a known state: the probe holds nothing, as of the first token.
        _history.Begin(granted: false);
        Publish(await FirstWrite.RunAsync(writer, Probe(grant: false), options).ConfigureAwait(false));
    }

    public override Task RunBesideAsync(RelationshipService.RelationshipServiceClient writer, CallOptions options, CancellationToken stop) =>
        _writer.PaceAsync(
            async i =>
            {
                var grant = i % 2 == 0;
                _history.Begin(grant);
                if (await _writer.WriteAsync(writer, Probe(grant), options).ConfigureAwait(false) is { } revision)
                {
                    Publish(revision);
                }
                else
                {
                    _history.Unknown();
                }
            },
            stop);

    public override async Task<CallOutcome> CallAsync(AuthorizationService.AuthorizationServiceClient client, long ticket, CallOptions options)
    {
        var token = Volatile.Read(ref _token);
        if (ticket % 4 != 0)
        {
            var (pooled, expected) = _pool[ticket];
            var request = new CheckRequest { Subject = pooled.Subject, Action = pooled.Action, Resource = pooled.Resource, Consistency = token };
            var response = await client.CheckAsync(request, options).ConfigureAwait(false);
            return new CallOutcome(1, response.Decision == expected ? 0 : 1);
        }

        var probe = new CheckRequest
        {
            Subject = new SubjectRef { Object = new ObjectRef { Type = "user", Id = ProbeUser } },
            Action = "view",
            Resource = new ObjectRef { Type = "project", Id = _project },
            Consistency = token,
        };
        var answer = await client.CheckAsync(probe, options).ConfigureAwait(false);
        Interlocked.Increment(ref _probeChecks);
        var answeredAt = long.Parse(answer.Revision, NumberStyles.None, CultureInfo.InvariantCulture);
        var minimum = long.Parse(token!.AtLeast, NumberStyles.None, CultureInfo.InvariantCulture);
        if (answeredAt < minimum)
        {
            // Answered below the token it was given: the requirement itself was broken.
            Interlocked.Increment(ref _violations);
            return new CallOutcome(1, 1);
        }

        switch (_history.Judge(answeredAt, answer.Decision == Decision.Allowed))
        {
            case ProbeVerdict.AtReported:
                return new CallOutcome(1, 0);
            case ProbeVerdict.NewerThanReported:
                Interlocked.Increment(ref _newerThanReported);
                return new CallOutcome(1, 0);
            case ProbeVerdict.Unverified:
                Interlocked.Increment(ref _unverified);
                return new CallOutcome(1, 0);
            default:
                Interlocked.Increment(ref _violations);
                return new CallOutcome(1, 1);
        }
    }

    private void Publish(long revision)
    {
        _history.Committed(revision);
        Volatile.Write(ref _token, new Consistency { AtLeast = revision.ToString(CultureInfo.InvariantCulture) });
    }

    private RelationshipUpdate Probe(bool grant) => PacedWriter.Update(grant, "project", _project, "viewer", ProbeUser);
}

/// <summary>How a probe answer compares with the write history.</summary>
internal enum ProbeVerdict
{
    /// <summary>The decision is the state at the revision the server reported.</summary>
    AtReported,

    /// <summary>
    /// The decision is a state committed after the reported revision: the server reads its revision before evaluating,
    /// so the reported revision is a lower bound of what the answer reflects. Safe for at_least, but not "the revision
    /// the decision was computed at" that the API describes.
    /// </summary>
    NewerThanReported,

    /// <summary>The decision is no state at or after the reported revision: an answer older than its token.</summary>
    Violation,

    /// <summary>The states that could apply are unknown (a write in flight, or one that failed).</summary>
    Unverified,
}

/// <summary>
/// The probe's state from each committed write on (the writer is the only writer of that relationship, and writes one
/// at a time). A revision past the last recorded write is the in-flight write's, if one is in flight; after a failed
/// write the state is unknown until the next write commits.
/// </summary>
internal sealed class ProbeHistory
{
    private readonly Lock _lock = new();
    private readonly List<(long FromRevision, bool? Granted)> _states = [];
    private bool? _pending;

    /// <summary>A write leaving the probe <paramref name="granted"/> or not is about to be sent.</summary>
    public void Begin(bool granted)
    {
        lock (_lock)
        {
            _pending = granted;
        }
    }

    /// <summary>The write committed at <paramref name="revision"/>.</summary>
    public void Committed(long revision)
    {
        lock (_lock)
        {
            _states.Add((revision, _pending));
            _pending = null;
        }
    }

    /// <summary>The write failed: it may or may not have committed, so the state is unknown until the next commit.</summary>
    public void Unknown()
    {
        lock (_lock)
        {
            var from = _states.Count == 0 ? 0 : _states[^1].FromRevision + 1;
            _states.Add((from, null));
            _pending = null;
        }
    }

    /// <summary>Judges a probe answer: <paramref name="allowed"/>, reported at <paramref name="answeredAt"/>.</summary>
    public ProbeVerdict Judge(long answeredAt, bool allowed)
    {
        lock (_lock)
        {
            if (_states.Count == 0 || answeredAt < _states[0].FromRevision)
            {
                return ProbeVerdict.Unverified;
            }

            if (answeredAt > _states[^1].FromRevision && _pending is { } target)
            {
                // Only the write in flight can have committed past the last recorded one.
                return target == allowed ? ProbeVerdict.AtReported : ProbeVerdict.Unverified;
            }

            var at = _states.FindLastIndex(s => s.FromRevision <= answeredAt);
            if (_states[at].Granted == allowed)
            {
                return ProbeVerdict.AtReported;
            }

            var unknown = _states[at].Granted is null;
            for (var i = at + 1; i < _states.Count; i++)
            {
                if (_states[i].Granted == allowed)
                {
                    return ProbeVerdict.NewerThanReported;
                }

                unknown |= _states[i].Granted is null;
            }

            if (_pending == allowed)
            {
                return ProbeVerdict.NewerThanReported;
            }

            return unknown ? ProbeVerdict.Unverified : ProbeVerdict.Violation;
        }
    }
}
