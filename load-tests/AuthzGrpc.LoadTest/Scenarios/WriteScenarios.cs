using AuthzGrpc.LoadData;
using AuthzGrpc.V1;
using Grpc.Core;

namespace AuthzGrpc.LoadTest.Scenarios;

/// <summary>
/// The scattered checks while a writer grants and then revokes <c>project#viewer</c> for users the checks never ask
/// about (<c>user:lt-writer-N</c>), on random projects of the data set: every write commits a revision and goes through
/// the server's whole write path, while every check's answer stays the data set's.
/// </summary>
internal sealed class CheckWithWritesScenario(PlatformDataSet data, RunSettings settings) : CheckScatteredScenario(data)
{
    private readonly PacedWriter _writer = new(settings.WritesPerSecond, settings.Duration);
    private readonly Random _random = new(PlatformDataSet.Seed + 4);
    private readonly int _organizations = data.Organizations;
    private RelationshipUpdate? _granted;

    public override string Name => ScenarioCatalog.CheckWithWrites;

    public override WriteSummary? Writes => _writer.Summary();

    // Revoking what no one holds: a harmless write that proves the key may write.
    public override Task PrepareAsync(RelationshipService.RelationshipServiceClient writer, CallOptions options) =>
        FirstWrite.RunAsync(writer, PacedWriter.Update(false, "project", PlatformDataSet.ProjectId(0, 0), "viewer", "lt-writer-0"), options);

    public override Task RunBesideAsync(RelationshipService.RelationshipServiceClient writer, CallOptions options, CancellationToken stop) =>
        _writer.PaceAsync(i => _writer.WriteAsync(writer, Toggle(i), options), stop);

    // Even writes grant a new pair, odd writes revoke it again, so the data set is back as it was after each pair.
    private RelationshipUpdate Toggle(long i)
    {
        if (i % 2 == 1 && _granted is { } granted)
        {
            _granted = null;
            return PacedWriter.Update(false, granted.Relationship.Resource.Type, granted.Relationship.Resource.Id, granted.Relationship.Relation, granted.Relationship.Subject.Object.Id);
        }

        var project = PlatformDataSet.ProjectId(_random.Next(_organizations), _random.Next(PlatformDataSet.ProjectsPerOrganization));
        _granted = PacedWriter.Update(true, "project", project, "viewer", $"lt-writer-{i / 2 % 16}");
        return _granted;
    }
}

/// <summary>
/// The write a writing scenario makes before its warm-up, outside the measured figures: it proves the key may write
/// (or fails the run early with what to do) and yields a first revision token.
/// </summary>
internal static class FirstWrite
{
    public static async Task<long> RunAsync(RelationshipService.RelationshipServiceClient client, RelationshipUpdate update, CallOptions options)
    {
        try
        {
            var response = await client.WriteRelationshipsAsync(new WriteRelationshipsRequest { Updates = { update } }, options).ConfigureAwait(false);
            return long.Parse(response.Revision, System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (RpcException e)
        {
            throw new InvalidOperationException(
                $"the writer's first write failed with {e.StatusCode} ({e.Status.Detail}): the write scenarios call " +
                "RelationshipService.WriteRelationships, which needs an admin API key (the server's bootstrap key is one)", e);
        }
    }
}
