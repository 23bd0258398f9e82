using AuthzGrpc.Cache;
using AuthzGrpc.Core.Engine;
using AuthzGrpc.Core.Graph;
using AuthzGrpc.LoadData;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Jobs;

namespace AuthzGrpc.Benchmarks;

/// <summary>
/// The same checks as <see cref="CheckBenchmarks"/>, answered the way a replica with the shared graph answers a hot
/// check: <see cref="RecordEvaluator"/> over the records held in the process's <see cref="NearCache"/> (filled once
/// from the engine's records, encoded and decoded as Redis would return them). No network, no allocation.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
[SimpleJob(RuntimeMoniker.Net10_0, launchCount: 1, warmupCount: 3, iterationCount: 10)]
public class NearCacheBenchmarks
{
    private readonly List<RecordKey> _missing = [];
    private NearCache _near = new(int.MaxValue);
    private (CheckTarget Target, CheckCase Case)[] _cases = [];

    [GlobalSetup]
    public void Setup()
    {
        var data = new PlatformDataSet();
        Console.WriteLine("// " + data.Load(out var engine));
        using (engine)
        {
            _near = new NearCache(int.MaxValue);
            _near.Reset(engine.Schema, "benchmark", engine.Revision);
            _cases = [.. CheckCases.For(data.Scenario).Select(c => (RecordEvaluator.Resolve(engine.Schema, c.ResourceType, c.Permission, "user", c.SubjectId, null), c))];
            foreach (var (target, c) in _cases)
            {
                if (Fill(engine, target, c) != c.Expected)
                {
                    throw new InvalidOperationException($"{c}: the near cache answers otherwise");
                }
            }
        }
    }

    /// <summary>1. project#admin for a direct admin.</summary>
    [Benchmark(Baseline = true)]
    public bool DirectRelation() => Run(0);

    /// <summary>2. application#deploy for an organization developer.</summary>
    [Benchmark]
    public bool DeepInherited() => Run(1);

    /// <summary>3. project#push_code through nested groups.</summary>
    [Benchmark]
    public bool NestedGroups() => Run(2);

    /// <summary>4. application#logs, denied after every branch.</summary>
    [Benchmark]
    public bool DeniedDeep() => Run(3);

    /// <summary>5. environment#push_code through the environment's type.</summary>
    [Benchmark]
    public bool EnvironmentTypeRole() => Run(4);

    /// <summary>6. application#view for an outsider, denied.</summary>
    [Benchmark]
    public bool DeniedOutsider() => Run(5);

    private bool Run(int index)
    {
        var (target, c) = _cases[index];
        _missing.Clear();
        return RecordEvaluator.Check(_near, target.Permission, c.ResourceId, target.SubjectType, c.SubjectId, null, _missing, DateTimeOffset.UtcNow) == RecordCheckResult.Allowed;
    }

    // A cold check against the engine's records, wave by wave, as a replica fills its near cache from Redis.
    private bool Fill(PermissionEngine engine, CheckTarget target, CheckCase c)
    {
        while (true)
        {
            _missing.Clear();
            var result = RecordEvaluator.Check(_near, target.Permission, c.ResourceId, target.SubjectType, c.SubjectId, null, _missing, DateTimeOffset.UtcNow);
            if (result != RecordCheckResult.Incomplete)
            {
                return result == RecordCheckResult.Allowed;
            }

            foreach (var key in _missing)
            {
                var type = engine.Schema.Types[key.Type];
                var content = engine.DescribeRecord(type.Name, key.Id);
                _near.Add(key, GraphRecordCodec.Decode(type, key.Id, GraphRecordCodec.Encode(content), engine.Schema), _near.Epoch);
            }
        }
    }
}
