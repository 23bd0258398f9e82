using AuthzGrpc.V1;
using Grpc.Core;

namespace AuthzGrpc.LoadTest.Scenarios;

/// <summary>What one call of a scenario answered: how many checks, and how many of them differed from the data set.</summary>
/// <param name="Checks">Checks the call answered (1 for Check, the batch size for BatchCheck).</param>
/// <param name="WrongAnswers">Checks whose decision is not the one the data set fixes.</param>
internal readonly record struct CallOutcome(int Checks, int WrongAnswers);

/// <summary>
/// A workload: the call each caller loop makes for a ticket (the call's sequence number in its phase), and optionally
/// work beside the calls (a writer). A scenario only builds requests and compares decisions with the data set; it knows
/// nothing of how the server answers, so it measures the server whatever its Check path is (engine, near cache, Redis).
/// </summary>
internal abstract class Scenario
{
    /// <summary>The scenario's name as the command line gives it.</summary>
    public abstract string Name { get; }

    /// <summary>Checks per call: the throughput in checks per second is this times the calls per second.</summary>
    public virtual int ChecksPerCall => 1;

    /// <summary>Makes the call for <paramref name="ticket"/>; a failed call throws <see cref="RpcException"/>.</summary>
    public abstract Task<CallOutcome> CallAsync(AuthorizationService.AuthorizationServiceClient client, long ticket, CallOptions options);

    /// <summary>Runs once before the warm-up (e.g. a first write, so there is a revision token); throws when the scenario cannot run.</summary>
    public virtual Task PrepareAsync(RelationshipService.RelationshipServiceClient writer, CallOptions options) => Task.CompletedTask;

    /// <summary>
    /// Runs beside the measured calls until <paramref name="stop"/> (the end of the measured phase); the calls it makes
    /// carry <paramref name="options"/>, whose token cancels them when the run's grace time is up as well.
    /// </summary>
    public virtual Task RunBesideAsync(RelationshipService.RelationshipServiceClient writer, CallOptions options, CancellationToken stop) => Task.CompletedTask;

    /// <summary>The writer's figures, for the scenarios that write.</summary>
    public virtual WriteSummary? Writes => null;

    /// <summary>The read-your-writes figures of the at-least scenario.</summary>
    public virtual ConsistencySummary? Consistency => null;
}
