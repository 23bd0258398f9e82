using AuthzGrpc.Core.Engine;
using AuthzGrpc.Core.Management;

namespace AuthzGrpc.Server.Checks;

/// <summary>
/// The items of a BatchCheck and their answers as the dispatcher's layers fill them in: each answers the items it can
/// and passes the batch on; the engine answers whatever is left. Items with a management question (R25) are left to
/// the engine: the management rules are not a graph.
/// </summary>
internal sealed class CheckBatch(CheckQuestion[] questions, ManagementQuestion?[]? management)
{
    private readonly AtRevision<CheckDecision>?[] _answers = new AtRevision<CheckDecision>?[questions.Length];

    /// <summary>How many items the batch has.</summary>
    public int Count => questions.Length;

    /// <summary>The item's check.</summary>
    public CheckQuestion this[int index] => questions[index];

    /// <summary>The item's management question, or null for an ordinary check.</summary>
    public ManagementQuestion? Management(int index) => management?[index];

    /// <summary>Whether the item is an ordinary check no layer has answered yet: one a graph layer may answer.</summary>
    public bool IsOpenCheck(int index) => _answers[index] is null && Management(index) is null;

    /// <summary>The item's answer, or null while none has been given.</summary>
    public AtRevision<CheckDecision>? Answer(int index) => _answers[index];

    /// <summary>Answers the item. Layers that answer concurrently each write only the items they fetched.</summary>
    public void Answer(int index, AtRevision<CheckDecision> answer) => _answers[index] = answer;

    /// <summary>The oldest revision any answer reflects; call once every item is answered.</summary>
    public long OldestRevision() => _answers.Min(answer => answer!.Value.Revision);

    /// <summary>Evaluates for one item, naming it in an error: "items[3]: type 'projekt' is not defined in the schema".</summary>
    public static T Named<T>(int index, Func<T> evaluate)
    {
        try
        {
            return evaluate();
        }
        catch (AuthzException e)
        {
            throw Name(index, e);
        }
    }

    /// <summary>The error, naming the item it is about.</summary>
    public static AuthzException Name(int index, AuthzException e) => new(e.Kind, $"items[{index}]: {e.Message}");
}
