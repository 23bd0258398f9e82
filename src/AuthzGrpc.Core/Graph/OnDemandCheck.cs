namespace AuthzGrpc.Core.Graph;

/// <summary>
/// A check answered over records computed on demand (<see cref="RecordBuilder"/>, e.g. from a database snapshot)
/// instead of fetched from Redis: what a replica that holds no engine answers when Redis cannot. The evaluator
/// (<see cref="RecordEvaluator"/>) asks for records in waves — the resource, the subject and its type's wildcard; then the
/// resource's ancestors; then, only through subject sets that name a permission, their objects — and each wave's records
/// are built together, so a wave costs the queries of its deepest record.
/// </summary>
public static class OnDemandCheck
{
    /// <summary>Waves after which a check gives up (ResourceExhausted); each wave only follows a permission subject set further.</summary>
    public const int MaxWaves = 16;

    /// <summary>
    /// Whether the subject (<paramref name="subjectId"/>, of <paramref name="target"/>'s subject type and set member)
    /// has <paramref name="target"/>'s permission on the resource <paramref name="resourceId"/>, at the index's revision,
    /// judging expiries at <paramref name="now"/>. Throws as <see cref="RecordEvaluator.Check"/> and
    /// <see cref="RecordBuilder.BuildAsync(string, string, CancellationToken)"/> do, and ResourceExhausted past
    /// <see cref="MaxWaves"/> waves.
    /// </summary>
    public static async Task<bool> CheckAsync(
        RecordBuilder builder, CheckTarget target, string resourceId, string subjectId, DateTimeOffset now,
        long budget = PermissionEngine.DefaultEvaluationBudget, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var view = new BuiltRecords();
        var missing = new List<RecordKey>();
        for (var wave = 0; wave < MaxWaves; wave++)
        {
            missing.Clear();
            var result = RecordEvaluator.Check(
                view, target.Permission, resourceId, target.SubjectType, subjectId, target.SubjectMember, missing, now,
                budget: budget, cancellationToken: cancellationToken);
            if (result != RecordCheckResult.Incomplete)
            {
                return result == RecordCheckResult.Allowed;
            }

            var keys = missing.Distinct().ToList();
            var types = builder.Schema.Types;
            var contents = await builder.BuildAsync([.. keys.Select(k => (types[k.Type].Name, k.Id))], cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < keys.Count; i++)
            {
                // Through the stored form, so the record evaluated is exactly the one Redis would hold.
                view.Records[keys[i]] = GraphRecordCodec.Decode(types[keys[i].Type], keys[i].Id, GraphRecordCodec.Encode(contents[i]), builder.Schema);
            }
        }

        throw new AuthzException(AuthzErrorKind.ResourceExhausted, $"the check needed records in more than {MaxWaves} waves");
    }

    private sealed class BuiltRecords : IRecordView
    {
        public Dictionary<RecordKey, GraphRecord> Records { get; } = [];

        public GraphRecord? Find(in RecordKey key) => Records.GetValueOrDefault(key);
    }
}
