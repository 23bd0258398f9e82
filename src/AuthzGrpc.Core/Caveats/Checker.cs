namespace AuthzGrpc.Core.Caveats;

/// <summary>Resolves names and types over the tree once, at compile time, and bounds its depth.</summary>
internal sealed class Checker
{
    public const int MaxDepth = 32;

    private readonly IReadOnlyList<CaveatParameter> parameters;
    private readonly Dictionary<string, int> parameterIndexes;
    private readonly List<(string Name, int Slot, CaveatType Type)> variables = [];
    private int depth;

    public Checker(IReadOnlyList<CaveatParameter> parameters)
    {
        this.parameters = parameters;
        parameterIndexes = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < parameters.Count; i++)
        {
            parameterIndexes[parameters[i].Name] = i;
        }

        Referenced = new bool[parameters.Count];
    }

    public int SlotCount { get; private set; }

    public bool[] Referenced { get; }

    public void Check(Node node)
    {
        if (++depth > MaxDepth)
        {
            throw node.CompileError($"expression nests deeper than {MaxDepth} levels");
        }

        node.Check(this);
        depth--;
    }

    /// <summary>A comprehension variable (innermost first) shadows a parameter of the same name, as in CEL.</summary>
    public (bool IsVariable, int Index, CaveatType Type)? Resolve(string name)
    {
        for (var i = variables.Count - 1; i >= 0; i--)
        {
            if (variables[i].Name == name)
            {
                return (true, variables[i].Slot, variables[i].Type);
            }
        }

        if (parameterIndexes.TryGetValue(name, out var index))
        {
            Referenced[index] = true;
            return (false, index, parameters[index].Type);
        }

        return null;
    }

    public int PushVariable(string name, CaveatType type)
    {
        var slot = SlotCount++;
        variables.Add((name, slot, type));
        return slot;
    }

    public void PopVariable() => variables.RemoveAt(variables.Count - 1);

    public static bool CanCompareEqual(CaveatType left, CaveatType right)
    {
        if (left.IsDynamic || right.IsDynamic || left.Kind == TypeKind.Null || right.Kind == TypeKind.Null || (left.IsNumeric && right.IsNumeric))
        {
            return true;
        }

        if (left.Kind != right.Kind)
        {
            return false;
        }

        return left.ElementType is null || CanCompareEqual(left.ElementType, right.ElementType!);
    }

    public static bool CanOrder(CaveatType left, CaveatType right)
    {
        static bool Orderable(CaveatType type) =>
            type.IsDynamic || type.IsNumeric || type.Kind is TypeKind.String or TypeKind.Bytes or TypeKind.Bool or TypeKind.Timestamp or TypeKind.Duration;

        if (!Orderable(left) || !Orderable(right))
        {
            return false;
        }

        return left.IsDynamic || right.IsDynamic || (left.IsNumeric && right.IsNumeric) || left.Kind == right.Kind;
    }

    /// <summary>The type both branches (or all list elements) share; <c>any</c> when they differ but either is dynamic; null when they conflict.</summary>
    public static CaveatType? Unify(CaveatType left, CaveatType right)
    {
        if (left == right || right.Kind == TypeKind.Null)
        {
            return left;
        }

        if (left.Kind == TypeKind.Null)
        {
            return right;
        }

        return left.IsDynamic || right.IsDynamic ? CaveatType.Any : null;
    }

    public static bool Matches(ValueKind parameter, CaveatType type) => type.Kind switch
    {
        TypeKind.Any => true,
        TypeKind.Int => parameter == ValueKind.Int,
        TypeKind.UInt => parameter == ValueKind.UInt,
        TypeKind.Double => parameter == ValueKind.Double,
        TypeKind.Bool => parameter == ValueKind.Bool,
        TypeKind.String => parameter == ValueKind.String,
        TypeKind.Bytes => parameter == ValueKind.Bytes,
        TypeKind.Duration => parameter == ValueKind.Duration,
        TypeKind.Timestamp => parameter == ValueKind.Timestamp,
        TypeKind.IpAddress => parameter == ValueKind.IpAddress,
        TypeKind.List => parameter == ValueKind.List,
        TypeKind.Map => parameter == ValueKind.Map,
        _ => false,
    };
}
