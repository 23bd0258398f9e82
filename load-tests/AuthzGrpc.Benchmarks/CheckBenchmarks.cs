using AuthzGrpc.Core.Engine;
using AuthzGrpc.LoadData;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Jobs;

namespace AuthzGrpc.Benchmarks;

/// <summary>
/// In-process <see cref="PermissionEngine.Check(string, string, string, string, string, string?, CancellationToken)"/> on the default
/// model loaded with the 1.47M-relationship platform of <see cref="PlatformDataSet"/>. Target: under 1 µs and
/// 0 bytes allocated per check.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
[SimpleJob(RuntimeMoniker.Net10_0, launchCount: 1, warmupCount: 3, iterationCount: 10)]
public class CheckBenchmarks : IDisposable
{
    private PermissionEngine? _engine;
    private CheckCase[] _cases = [];
    private CheckCase[] _scatteredDeep = [];
    private CheckCase[] _scatteredDenied = [];
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        var data = new PlatformDataSet();
        var report = data.Load(out var engine);
        _engine = engine;
        _cases = CheckCases.For(data.Scenario);
        _scatteredDeep = CheckCases.ScatteredDeepInherited(data);
        _scatteredDenied = CheckCases.ScatteredDeniedOutsider(data);
        CheckCases.Verify(engine, [.. _cases, .. _scatteredDeep, .. _scatteredDenied]);
        Console.WriteLine("// " + report);
    }

    /// <summary>1. project#admin for a direct admin: one relation lookup.</summary>
    [Benchmark(Baseline = true)]
    public bool DirectRelation() => _cases[0].Run(_engine!);

    /// <summary>2. application#deploy for an organization developer: application → environment → project → organization.</summary>
    [Benchmark]
    public bool DeepInherited() => _cases[1].Run(_engine!);

    /// <summary>3. project#push_code for a member of oncall ⊂ sre ⊂ platform, platform being project#developer.</summary>
    [Benchmark]
    public bool NestedGroups() => _cases[2].Run(_engine!);

    /// <summary>4. application#logs for the environment's former creator: denied after every branch, the creator intersection included.</summary>
    [Benchmark]
    public bool DeniedDeep() => _cases[3].Run(_engine!);

    /// <summary>5. environment#push_code for a contributor of the environment's type: environment → type → role.</summary>
    [Benchmark]
    public bool EnvironmentTypeRole() => _cases[4].Run(_engine!);

    /// <summary>6. application#view for a user of another organization in nested groups: denied after every branch.</summary>
    [Benchmark]
    public bool DeniedOutsider() => _cases[5].Run(_engine!);

    /// <summary>7. Like 2, on 65,536 applications and developers spread over every organization: cache misses included.</summary>
    [Benchmark]
    public bool DeepInheritedScattered() => _scatteredDeep[_next++ & (CheckCases.ScatteredCount - 1)].Run(_engine!);

    /// <summary>8. Like 6, on 65,536 applications spread over every organization: cache misses included.</summary>
    [Benchmark]
    public bool DeniedOutsiderScattered() => _scatteredDenied[_next++ & (CheckCases.ScatteredCount - 1)].Run(_engine!);

    [GlobalCleanup]
    public void Dispose()
    {
        _engine?.Dispose();
        _engine = null;
        GC.SuppressFinalize(this);
    }
}
