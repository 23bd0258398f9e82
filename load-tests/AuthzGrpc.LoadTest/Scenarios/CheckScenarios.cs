using AuthzGrpc.LoadData;
using AuthzGrpc.V1;
using Grpc.Core;

namespace AuthzGrpc.LoadTest.Scenarios;

/// <summary>
/// One allowed check repeated: application#deploy for an organization developer, which holds only through application
/// → environment → project → organization. Everything it touches stays hot in every cache, so this is the fastest a
/// Check can be answered end to end.
/// </summary>
internal sealed class CheckHotScenario(PlatformDataSet data) : Scenario
{
    private readonly CheckRequest _request = CheckPool.ToRequest(CheckCases.For(data.Scenario).Single(c => c.Name == "DeepInherited"));

    public override string Name => ScenarioCatalog.CheckHot;

    public override async Task<CallOutcome> CallAsync(AuthorizationService.AuthorizationServiceClient client, long ticket, CallOptions options)
    {
        var response = await client.CheckAsync(_request, options).ConfigureAwait(false);
        return new CallOutcome(1, response.Decision == Decision.Allowed ? 0 : 1);
    }
}

/// <summary>
/// Checks spread over every organization of the data set, half allowed (application#deploy for a random developer of
/// the application's organization) and half denied (application#view for a user of the previous organization), so
/// the touched objects are rarely in any cache — the shape of production traffic over many tenants.
/// </summary>
internal class CheckScatteredScenario(PlatformDataSet data) : Scenario
{
    /// <summary>The mixed, shuffled checks.</summary>
    protected CheckPool Pool { get; } = CheckPool.Scattered(data);

    public override string Name => ScenarioCatalog.CheckScattered;

    public override async Task<CallOutcome> CallAsync(AuthorizationService.AuthorizationServiceClient client, long ticket, CallOptions options)
    {
        var (request, expected) = Pool[ticket];
        var response = await client.CheckAsync(request, options).ConfigureAwait(false);
        return new CallOutcome(1, response.Decision == expected ? 0 : 1);
    }
}

/// <summary>BatchCheck of a fixed number of scattered checks per call; every result is compared with the data set.</summary>
internal sealed class BatchCheckScenario : Scenario
{
    // Enough distinct batches that consecutive calls rarely repeat one, few enough that building them stays cheap.
    private const int MaxBatches = 4096;

    private readonly BatchCheckRequest[] _batches;
    private readonly Decision[][] _expected;
    private readonly int _batchSize;

    public BatchCheckScenario(PlatformDataSet data, int batchSize)
    {
        var pool = CheckPool.Scattered(data);
        _batchSize = batchSize;
        var count = Math.Clamp(pool.Count / batchSize, 1, MaxBatches);
        _batches = new BatchCheckRequest[count];
        _expected = new Decision[count][];
        for (var b = 0; b < count; b++)
        {
            (_batches[b], _expected[b]) = Batch(pool, (long)b * batchSize, batchSize);
        }
    }

    /// <summary>A BatchCheck of the pool's <paramref name="size"/> checks from <paramref name="first"/>, with the decision each must get.</summary>
    public static (BatchCheckRequest Request, Decision[] Expected) Batch(CheckPool pool, long first, int size)
    {
        var request = new BatchCheckRequest();
        var expected = new Decision[size];
        for (var i = 0; i < size; i++)
        {
            (var item, expected[i]) = pool[first + i];
            request.Items.Add(item);
        }

        return (request, expected);
    }

    public override string Name => ScenarioCatalog.BatchCheck;

    public override int ChecksPerCall => _batchSize;

    public override async Task<CallOutcome> CallAsync(AuthorizationService.AuthorizationServiceClient client, long ticket, CallOptions options)
    {
        var b = (int)(ticket % _batches.Length);
        var response = await client.BatchCheckAsync(_batches[b], options).ConfigureAwait(false);
        var expected = _expected[b];
        var wrong = response.Results.Count == expected.Length ? 0 : expected.Length;
        for (var i = 0; i < expected.Length && i < response.Results.Count; i++)
        {
            wrong += response.Results[i].Decision == expected[i] ? 0 : 1;
        }

        return new CallOutcome(expected.Length, wrong);
    }
}
