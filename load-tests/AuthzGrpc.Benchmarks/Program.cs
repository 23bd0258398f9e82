using System.Diagnostics;
using System.Globalization;
using AuthzGrpc.Benchmarks;
using BenchmarkDotNet.Running;

// `--quick [N] [ORGS]` skips BenchmarkDotNet: it loads the data set once (ORGS organizations, default 1,000) and
// times N checks per case (default and cap below). Anything else goes to BenchmarkDotNet, e.g. `--filter '*'`.
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
            Console.WriteLine($"{"case",-20} {"checks",12} {"ns/check",10} {"bytes/check",12}");
            foreach (var c in cases)
            {
                for (var i = 0; i < 10_000; i++)
                {
                    c.Run(engine);
                }

                var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
                var stopwatch = Stopwatch.StartNew();
                var allowed = 0;
                for (var i = 0; i < checks; i++)
                {
                    allowed += c.Run(engine) ? 1 : 0;
                }

                stopwatch.Stop();
                var allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
                if (allowed != (c.Expected ? checks : 0))
                {
                    Console.Error.WriteLine($"{c.Name}: {allowed} of {checks} allowed, expected {(c.Expected ? checks : 0)}");
                    return 1;
                }

                Console.WriteLine($"{c.Name,-20} {checks,12:N0} {stopwatch.Elapsed.TotalNanoseconds / checks,10:F1} {(double)allocated / checks,12:F2}");
            }
        }

        return 0;
    }
}
