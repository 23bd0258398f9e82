using System.Diagnostics;
using System.Globalization;
using AuthzGrpc.Benchmarks;
using AuthzGrpc.Core.Engine;
using AuthzGrpc.Core.Model;
using AuthzGrpc.LoadData;
using BenchmarkDotNet.Running;

// `--quick [N] [ORGS]` skips BenchmarkDotNet: it loads the data set once (ORGS organizations, default 1,000) and
// times N checks per case (default and cap below). It exits 1 if a case answers wrong or allocates, so it doubles
// as an allocation gate. Anything else goes to BenchmarkDotNet, e.g. `--filter '*'`.
if (args.Length > 0 && args[0] == "--quick")
{
    const int DefaultChecks = 1_000_000;
    const int MaxChecks = 10_000_000;
    var checks = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : DefaultChecks;
    var organizations = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : PlatformDataSet.DefaultOrganizations;
    return QuickRun.Run(Math.Clamp(checks, 1, MaxChecks), Math.Clamp(organizations, 2, PlatformDataSet.DefaultOrganizations * 10));
}

BenchmarkSwitcher.FromAssembly(typeof(CheckBenchmarks).Assembly).Run(args);
return 0;

internal static class QuickRun
{
    public static int Run(int checks, int organizations)
    {
        var data = new PlatformDataSet(organizations);
        var report = data.Load(out var engine);
        using (engine)
        {
            Console.WriteLine(report);
            var cases = CheckCases.For(data.Scenario);
            CheckCases.Verify(engine, cases);
            foreach (var c in cases)
            {
                Console.WriteLine();
                Console.WriteLine(c);
                Console.Write(CheckCases.Explain(engine, c));
            }

            Console.WriteLine();
            var scattered = new[] { CheckCases.ScatteredDeepInherited(data), CheckCases.ScatteredDeniedOutsider(data) };
            CheckCases.Verify(engine, scattered.SelectMany(s => s));
            Console.WriteLine($"{"case",-24} {"checks",12} {"ns/check",10} {"bytes/check",12}");
            foreach (var workload in cases.Select(c => new[] { c }).Concat(scattered))
            {
                if (!Time(engine, workload, checks))
                {
                    return 1;
                }
            }

            Console.WriteLine();
            TimeWrites(engine, data.Scenario);
        }

        return 0;
    }

    private const int TimedWrites = 10_000;

    // Times TimedWrites single-relationship writes, then their deletes, one Write call each: half add an application
    // under one environment (an arrow edge: the ancestor closure), half add a user to one group (a membership edge).
    // Both grow one large set by one entry per write, the case a copy-on-write store must not pay for in full.
    private static void TimeWrites(PermissionEngine engine, CheckScenario scenario)
    {
        var group = new ObjectRef("group", PlatformDataSet.GroupId(scenario.Organization, "platform"));
        var relationships = Enumerable.Range(0, TimedWrites).Select(i => i % 2 == 0
            ? new Relationship(new ObjectRef("application", $"bench-app-{i}"), "environment", new SubjectRef("environment", scenario.ProductionEnvironment))
            : new Relationship(group, "member", new SubjectRef("user", $"bench-user-{i}"))).ToArray();
        Console.WriteLine($"{"writes",-24} {"count",12} {"us/write",10} {"bytes/write",12}");
        foreach (var (name, operation) in new[] { ("touch", RelationshipOperation.Touch), ("delete", RelationshipOperation.Delete) })
        {
            var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
            var stopwatch = Stopwatch.StartNew();
            foreach (var relationship in relationships)
            {
                engine.Write([new RelationshipUpdate(operation, relationship)]);
            }

            stopwatch.Stop();
            var allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
            Console.WriteLine($"{name,-24} {TimedWrites,12:N0} {stopwatch.Elapsed.TotalMicroseconds / TimedWrites,10:F2} {(double)allocated / TimedWrites,12:F0}");
        }
    }

    // Runs `checks` checks cycling through `workload` (all of one name and answer); false if an answer was wrong.
    private static bool Time(PermissionEngine engine, CheckCase[] workload, int checks)
    {
        for (var i = 0; i < 10_000; i++)
        {
            workload[i % workload.Length].Run(engine);
        }

        var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        var stopwatch = Stopwatch.StartNew();
        var allowed = 0;
        for (int i = 0, next = 0; i < checks; i++, next = next + 1 == workload.Length ? 0 : next + 1)
        {
            allowed += workload[next].Run(engine) ? 1 : 0;
        }

        stopwatch.Stop();
        var allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        var expected = workload[0].Expected ? checks : 0;
        if (allowed != expected)
        {
            Console.Error.WriteLine($"{workload[0].Name}: {allowed} of {checks} allowed, expected {expected}");
            return false;
        }

        Console.WriteLine($"{workload[0].Name,-24} {checks,12:N0} {stopwatch.Elapsed.TotalNanoseconds / checks,10:F1} {(double)allocated / checks,12:F2}");

        // The hot path must not allocate. Any per-check allocation is at least one object (24 bytes or more), so the
        // bar of one byte per check tolerates a stray one-time allocation without hiding a real one.
        if (allocated >= checks)
        {
            Console.Error.WriteLine($"{workload[0].Name}: allocated {allocated:N0} bytes over {checks:N0} checks; the budget is 0 per check");
            return false;
        }

        return true;
    }
}
