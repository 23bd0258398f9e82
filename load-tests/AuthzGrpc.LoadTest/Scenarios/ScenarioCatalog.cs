using AuthzGrpc.LoadData;

namespace AuthzGrpc.LoadTest.Scenarios;

/// <summary>The scenarios by name.</summary>
internal static class ScenarioCatalog
{
    /// <summary>One allowed check (application#deploy for an organization developer, four levels up) repeated.</summary>
    public const string CheckHot = "check-hot";

    /// <summary>Checks spread over every organization, half allowed and half denied.</summary>
    public const string CheckScattered = "check-scattered";

    /// <summary>BatchCheck of <see cref="RunSettings.BatchSize"/> scattered checks.</summary>
    public const string BatchCheck = "batch-check";

    /// <summary>Scattered checks while a writer grants and revokes at a low rate.</summary>
    public const string CheckWithWrites = "check-with-writes";

    /// <summary>Checks carrying the revision token of the writer's last write, with the new-enemy rule verified.</summary>
    public const string AtLeast = "at-least";

    /// <summary>Every scenario, in the order <c>load-tests/run.sh</c> runs them.</summary>
    public static readonly IReadOnlyList<string> Names = [CheckHot, CheckScattered, BatchCheck, CheckWithWrites, AtLeast];

    /// <summary>The scenario <paramref name="settings"/> names, on <paramref name="data"/> (already generated, so its scenario ids are known).</summary>
    public static Scenario Create(RunSettings settings, PlatformDataSet data) => settings.Scenario switch
    {
        CheckHot => new CheckHotScenario(data),
        CheckScattered => new CheckScatteredScenario(data),
        BatchCheck => new BatchCheckScenario(data, settings.BatchSize),
        CheckWithWrites => new CheckWithWritesScenario(data, settings),
        AtLeast => new AtLeastScenario(data, settings),
        _ => throw new ArgumentException($"unknown scenario '{settings.Scenario}'", nameof(settings)),
    };
}
