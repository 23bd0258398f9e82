using AuthzGrpc.LoadData;
using AuthzGrpc.V1;

namespace AuthzGrpc.LoadTest.Scenarios;

/// <summary>
/// Check requests built once from the data set's cases, each with the decision the data set fixes, in a shuffled but
/// fixed order. Built up front so that a call costs the client only serialization; requests are never mutated, so
/// every caller loop may send the same object.
/// </summary>
internal sealed class CheckPool
{
    private readonly CheckRequest[] _requests;
    private readonly Decision[] _expected;

    public CheckPool(IEnumerable<CheckCase> cases, int seed)
    {
        var all = cases.ToArray();
        new Random(seed).Shuffle(all);
        _requests = [.. all.Select(ToRequest)];
        _expected = [.. all.Select(c => c.Expected ? Decision.Allowed : Decision.Denied)];
    }

    /// <summary>How many distinct checks the pool cycles through.</summary>
    public int Count => _requests.Length;

    /// <summary>The scattered mix of the data set: <see cref="CheckCases.ScatteredCount"/> allowed deep checks and as many denied outsider checks.</summary>
    public static CheckPool Scattered(PlatformDataSet data) =>
        new([.. CheckCases.ScatteredDeepInherited(data), .. CheckCases.ScatteredDeniedOutsider(data)], PlatformDataSet.Seed + 3);

    /// <summary>The request for <paramref name="ticket"/> (the pool wraps around) and the decision it must get.</summary>
    public (CheckRequest Request, Decision Expected) this[long ticket]
    {
        get
        {
            var i = (int)(ticket % _requests.Length);
            return (_requests[i], _expected[i]);
        }
    }

    /// <summary>The request for a case: <c>resource#permission@user:subject</c>, with no consistency (minimize_latency).</summary>
    public static CheckRequest ToRequest(CheckCase c)
    {
        ArgumentNullException.ThrowIfNull(c);
        return new CheckRequest
        {
            Subject = new SubjectRef { Object = new ObjectRef { Type = "user", Id = c.SubjectId } },
            Action = c.Permission,
            Resource = new ObjectRef { Type = c.ResourceType, Id = c.ResourceId },
        };
    }
}
