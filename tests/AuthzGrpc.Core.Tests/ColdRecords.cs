using AuthzGrpc.Core.Engine;
using AuthzGrpc.Core.Graph;
using AuthzGrpc.Core.Model;
using AuthzGrpc.Core.Schema;

namespace AuthzGrpc.Core.Tests;

/// <summary>The shared graph's records as a replica with a cold near cache reads them: nothing loaded, fetched wave by wave.</summary>
internal static class ColdRecords
{
    /// <summary>Every record of <paramref name="engine"/>'s model, encoded as Redis stores them, by (type, id).</summary>
    public static Dictionary<(string, string), byte[]> Of(PermissionEngine engine) =>
        engine.DescribeAllRecords().ToDictionary(r => (r.Type, r.Id), GraphRecordCodec.Encode);

    /// <summary>A cold check over <paramref name="stored"/>: fetches what the evaluator asks for, wave by wave; an absent record is empty.</summary>
    public static (bool Allowed, int Waves) Check(
        CompiledSchema schema, Dictionary<(string, string), byte[]> stored, ObjectRef resource, string permission, SubjectRef subject, DateTimeOffset now)
    {
        var view = new LoadedRecords();
        var target = RecordEvaluator.Resolve(schema, resource.Type, permission, subject.Type, subject.Id, subject.Relation);
        var missing = new List<RecordKey>();
        for (var wave = 0; ; wave++)
        {
            missing.Clear();
            var result = RecordEvaluator.Check(view, target.Permission, resource.Id, target.SubjectType, subject.Id, target.SubjectMember, missing, now);
            if (result != RecordCheckResult.Incomplete)
            {
                return (result == RecordCheckResult.Allowed, wave);
            }

            Assert.NotEmpty(missing);
            foreach (var key in missing)
            {
                var type = schema.Types[key.Type];
                view.Records[key] = stored.TryGetValue((type.Name, key.Id), out var bytes)
                    ? GraphRecordCodec.Decode(type, key.Id, bytes, schema)
                    : GraphRecord.Empty(type, key.Id, 0);
            }
        }
    }

    private sealed class LoadedRecords : IRecordView
    {
        public Dictionary<RecordKey, GraphRecord> Records { get; } = [];

        public GraphRecord? Find(in RecordKey key) => Records.GetValueOrDefault(key);
    }
}
