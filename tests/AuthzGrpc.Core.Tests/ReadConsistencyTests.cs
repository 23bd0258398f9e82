namespace AuthzGrpc.Core.Tests;

/// <summary>
/// A lookup page that resumes from a cursor is never answered from an older state than the page before it: the
/// cursor's revision replaces a weaker requirement, and the cursor is the one to blame when it names a revision the
/// store has not committed.
/// </summary>
public sealed class ReadConsistencyTests
{
    public static TheoryData<ReadConsistency, ReadConsistency, bool> Pages => new()
    {
        { ReadConsistency.MinimizeLatency, ReadConsistency.AtLeast(7), true },
        { ReadConsistency.AtLeast(3), ReadConsistency.AtLeast(7), true },
        { ReadConsistency.AtLeast(7), ReadConsistency.AtLeast(7), false },
        { ReadConsistency.AtLeast(9), ReadConsistency.AtLeast(9), false },
        { ReadConsistency.FullyConsistent, ReadConsistency.FullyConsistent, false },
    };

    [Theory]
    [MemberData(nameof(Pages))]
    public void ResumingAt_TheStricterRequirementDecides(ReadConsistency requested, ReadConsistency expected, bool cursorDecides)
    {
        var resumed = requested.ResumingAt(7, out var decidedByCursor);

        Assert.Equal(expected, resumed);
        Assert.Equal(cursorDecides, decidedByCursor);
    }

    [Fact]
    public void MinimumRevision_IsTheTokenOfAnAtLeastReadOnly()
    {
        Assert.Equal(42, ReadConsistency.AtLeast(42).MinimumRevision);
        Assert.Null(ReadConsistency.MinimizeLatency.MinimumRevision);
        Assert.Equal(ConsistencyRequirement.MinimizeLatency, default(ReadConsistency).Requirement);
    }
}
