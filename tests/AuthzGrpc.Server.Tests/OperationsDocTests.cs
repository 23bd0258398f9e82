using System.Globalization;
using System.Reflection;
using AuthzGrpc.Cache;
using AuthzGrpc.Server.Hosting;
using AuthzGrpc.Testing;

namespace AuthzGrpc.Server.Tests;

/// <summary>docs/OPERATIONS.md's configuration table against the options classes, so that it cannot rot.</summary>
public sealed class OperationsDocTests
{
    [Fact]
    public void ConfigurationTable_HasEverySettableOption_WithItsDefault()
    {
        var rows = File.ReadAllLines(Path.Combine(Repository.Root, "docs", "OPERATIONS.md"))
            .Where(line => line.StartsWith("| `", StringComparison.Ordinal))
            .Select(line => line.Split('|', StringSplitOptions.TrimEntries))
            .ToDictionary(cells => cells[1].Trim('`'), cells => cells[2]);
        var settings = Settings(new AuthzOptions(), AuthzOptions.SectionName).Concat(Settings(new RedisGraphOptions(), AuthzOptions.SectionName + ":Redis")).ToList();

        Assert.NotEmpty(settings);
        Assert.All(settings, setting =>
        {
            Assert.True(rows.TryGetValue(setting.Key, out var documented), $"docs/OPERATIONS.md has no row for {setting.Key}");
            // An unset default reads "empty" (with what it means, if anything); any other is written as code.
            Assert.True(
                setting.Default is null ? documented.StartsWith("empty", StringComparison.Ordinal) : documented.Contains($"`{setting.Default}`", StringComparison.Ordinal),
                $"{setting.Key}: documented default '{documented}', the options class says '{setting.Default ?? "empty"}'");
        });
    }

    // Every public settable property, as its configuration key and its default's text (null when unset or empty);
    // properties that are options classes themselves are sections, walked in turn.
    private static IEnumerable<(string Key, string? Default)> Settings(object options, string section)
    {
        foreach (var property in options.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.SetMethod is { IsPublic: true }))
        {
            var value = property.GetValue(options);
            var key = $"{section}:{property.Name}";
            if (value is not null && property.PropertyType.IsClass && property.PropertyType != typeof(string))
            {
                foreach (var nested in Settings(value, key))
                {
                    yield return nested;
                }

                continue;
            }

            yield return (key, Convert.ToString(value, CultureInfo.InvariantCulture) is { Length: > 0 } text ? text : null);
        }
    }
}
