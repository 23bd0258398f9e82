using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using AuthzGrpc.Testing;
using Json.Schema;
using YamlDotNet.RepresentationModel;

namespace AuthzGrpc.Server.Tests;

/// <summary>
/// The Helm chart in deploy/helm/authzgrpc, checked without helm (not in Debian's packages): its values satisfy the
/// chart's own values.schema.json (as <c>helm install</c> enforces it) and the schema refuses bad values; every value a
/// template reads exists; the probes and ports match what the image serves.
/// </summary>
public sealed partial class HelmChartTests
{
    private static readonly string Chart = Path.Combine(Repository.Root, "deploy", "helm", "authzgrpc");

    [Fact]
    public void ChartYaml_IsAnApplicationChartOfApiVersion2_WithASemanticVersion()
    {
        var chart = Load(Path.Combine(Chart, "Chart.yaml"));
        Assert.Equal("v2", chart["apiVersion"]!.GetValue<string>());
        Assert.Equal("authzgrpc", chart["name"]!.GetValue<string>());
        Assert.Matches(@"^\d+\.\d+\.\d+$", chart["version"]!.GetValue<string>());
    }

    [Fact]
    public void Values_SatisfyTheChartsSchema_AndTheSchemaRefusesBadValues()
    {
        var schema = JsonSchema.FromFile(Path.Combine(Chart, "values.schema.json"));
        var values = Load(Path.Combine(Chart, "values.yaml"));
        var result = schema.Evaluate(Element(values), new EvaluationOptions { OutputFormat = OutputFormat.List });
        Assert.True(result.IsValid, string.Join("; ", (result.Details ?? []).Where(d => d.Errors is { Count: > 0 }).SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Value}"))));

        foreach (var (path, bad) in new (string, JsonNode?)[] { ("replicaCount", 0), ("image.pullPolicy", "Sometimes"), ("auth.bootstrapSubject", "group:eng#member"), ("service.grpcPort", 70000), ("storage.connectionString", "Host=db") })
        {
            var mutated = values.DeepClone().AsObject();
            var parts = path.Split('.');
            var parent = parts[..^1].Aggregate((JsonNode)mutated, (node, part) => node[part]!);
            parent[parts[^1]] = bad;
            Assert.False(schema.Evaluate(Element(mutated)).IsValid, $"the schema accepted {path} = {bad?.ToJsonString()}");
        }
    }

    [Fact]
    public void Templates_ReadOnlyValuesThatExist_AndProbeTheGrpcPortTheImageExposes()
    {
        var values = Load(Path.Combine(Chart, "values.yaml"));
        foreach (var template in Directory.EnumerateFiles(Path.Combine(Chart, "templates")))
        {
            foreach (Match reference in ValuesReference().Matches(File.ReadAllText(template)))
            {
                var found = reference.Groups["path"].Value.Split('.').Aggregate((JsonNode?)values, (node, part) => node?[part]);
                Assert.True(found is not null, $"{Path.GetFileName(template)} reads .Values.{reference.Groups["path"].Value}, which values.yaml lacks");
            }
        }

        var dockerfile = File.ReadAllText(Path.Combine(Repository.Root, "Dockerfile"));
        var deployment = File.ReadAllText(Path.Combine(Chart, "templates", "deployment.yaml"));
        Assert.Contains("EXPOSE 50051 9464", dockerfile, StringComparison.Ordinal);
        Assert.Contains("containerPort: 50051", deployment, StringComparison.Ordinal);
        Assert.Contains("containerPort: 9464", deployment, StringComparison.Ordinal);
        Assert.Equal(3, GrpcProbe().Count(deployment));
    }

    private static System.Text.Json.JsonElement Element(JsonNode node) => System.Text.Json.JsonSerializer.SerializeToElement(node);

    /// <summary>A YAML file as JSON (scalars that read as numbers or booleans become them, as helm reads values).</summary>
    private static JsonObject Load(string file)
    {
        var yaml = new YamlStream();
        using (var reader = new StreamReader(file))
        {
            yaml.Load(reader);
        }

        return (JsonObject)ToJson(yaml.Documents[0].RootNode)!;
    }

    private static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode map => new JsonObject(map.Children.Select(pair => KeyValuePair.Create(((YamlScalarNode)pair.Key).Value!, ToJson(pair.Value)))),
        YamlSequenceNode sequence => new JsonArray([.. sequence.Children.Select(ToJson)]),
        YamlScalarNode { Style: YamlDotNet.Core.ScalarStyle.Plain } scalar when long.TryParse(scalar.Value, out var number) => number,
        YamlScalarNode { Style: YamlDotNet.Core.ScalarStyle.Plain, Value: "true" or "false" } scalar => scalar.Value == "true",
        YamlScalarNode scalar => scalar.Value,
        _ => null,
    };

    [GeneratedRegex(@"\.Values\.(?<path>[A-Za-z0-9_.]+)")]
    private static partial Regex ValuesReference();

    [GeneratedRegex(@"Probe:\s*\n\s*grpc:\s*\n\s*port: 50051")]
    private static partial Regex GrpcProbe();
}
