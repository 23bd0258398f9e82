using System.Text.RegularExpressions;

namespace AuthzGrpc.Core.Caveats;

/// <summary>
/// A node of the expression tree. The parser builds it, <see cref="Check"/> resolves names, types and overloads once,
/// and <see cref="Evaluate"/> runs it; nothing mutates after checking, so one tree serves many threads.
/// </summary>
internal abstract class Node(int line, int column)
{
    public int Line { get; } = line;

    public int Column { get; } = column;

    /// <summary>The static type, set by <see cref="Check"/>; <c>any</c> when only known at runtime.</summary>
    public CaveatType Type { get; protected set; } = CaveatType.Any;

    public abstract void Check(Checker checker);

    public abstract CelValue Evaluate(Evaluation evaluation);

    public CaveatException CompileError(string message) => CaveatException.CompileAt(Line, Column, message);

    protected static string TypeList(IEnumerable<CaveatType> types) => "(" + string.Join(", ", types) + ")";
}

internal sealed class LiteralNode(int line, int column, CelValue value, CaveatType type) : Node(line, column)
{
    public CelValue Value { get; } = value;

    public override void Check(Checker checker) => Type = type;

    public override CelValue Evaluate(Evaluation evaluation)
    {
        evaluation.Charge(1);
        return Value;
    }
}

/// <summary>A parameter, or a comprehension variable.</summary>
internal sealed class IdentNode(int line, int column, string name) : Node(line, column)
{
    private bool isVariable;
    private int index;

    public string Name { get; } = name;

    public override void Check(Checker checker)
    {
        var resolved = checker.Resolve(Name) ?? throw CompileError($"undeclared reference to '{Name}' (not a parameter of the caveat)");
        (isVariable, index, var type) = resolved;
        Type = type;
    }

    public override CelValue Evaluate(Evaluation evaluation)
    {
        evaluation.Charge(1);
        return isVariable ? evaluation.Slots[index] : evaluation.Parameters[index];
    }
}

/// <summary><c>m.f</c> on a map: the value at key "f"; an absent key is an error (use <c>has(m.f)</c> to test).</summary>
internal sealed class SelectNode(int line, int column, Node operand, string field) : Node(line, column)
{
    public Node Operand { get; } = operand;

    public string Field { get; } = field;

    public override void Check(Checker checker)
    {
        checker.Check(Operand);
        Type = Operand.Type.Kind switch
        {
            TypeKind.Map => Operand.Type.ElementType!,
            TypeKind.Any => CaveatType.Any,
            _ => throw CompileError($"type '{Operand.Type}' does not support field selection ('.{Field}')"),
        };
    }

    public override CelValue Evaluate(Evaluation evaluation)
    {
        evaluation.Charge(1);
        var target = Operand.Evaluate(evaluation);
        if (target.IsMissingOrError)
        {
            return target;
        }

        if (target.Kind != ValueKind.Map)
        {
            return CelValue.Error($"type '{target.TypeName}' does not support field selection ('.{Field}')");
        }

        return target.AsMap.TryGetValue(Field, out var value) ? value : CelValue.Error($"no such key: '{Field}'");
    }

    public CelValue EvaluatePresence(Evaluation evaluation)
    {
        var target = Operand.Evaluate(evaluation);
        if (target.IsMissingOrError)
        {
            return target;
        }

        return target.Kind == ValueKind.Map
            ? CelValue.Bool(target.AsMap.ContainsKey(Field))
            : CelValue.Error($"has() needs a map, not '{target.TypeName}'");
    }
}

/// <summary>The <c>has(m.f)</c> macro: whether map m has key "f".</summary>
internal sealed class HasNode(int line, int column, SelectNode select) : Node(line, column)
{
    public override void Check(Checker checker)
    {
        checker.Check(select);
        Type = CaveatType.Bool;
    }

    public override CelValue Evaluate(Evaluation evaluation)
    {
        evaluation.Charge(1);
        return select.EvaluatePresence(evaluation);
    }
}

/// <summary><c>list[i]</c> (int or uint index) and <c>map["key"]</c>.</summary>
internal sealed class IndexNode(int line, int column, Node operand, Node index) : Node(line, column)
{
    public override void Check(Checker checker)
    {
        checker.Check(operand);
        checker.Check(index);
        var indexType = index.Type;
        switch (operand.Type.Kind)
        {
            case TypeKind.List when indexType.IsDynamic || indexType.Kind is TypeKind.Int or TypeKind.UInt:
            case TypeKind.Map when indexType.IsDynamic || indexType.Kind == TypeKind.String:
                Type = operand.Type.ElementType!;
                break;
            case TypeKind.Any:
                Type = CaveatType.Any;
                break;
            default:
                throw CompileError($"found no matching overload for index applied to ({operand.Type}, {indexType})");
        }
    }

    public override CelValue Evaluate(Evaluation evaluation)
    {
        evaluation.Charge(1);
        var target = operand.Evaluate(evaluation);
        var key = index.Evaluate(evaluation);
        if (CelValue.FirstProblem(target, key) is { } problem)
        {
            return problem;
        }

        switch (target.Kind, key.Kind)
        {
            case (ValueKind.List, ValueKind.Int or ValueKind.UInt):
                var list = target.AsList;
                var position = key.Kind == ValueKind.Int ? key.AsInt : (long)Math.Min(key.AsUInt, long.MaxValue);
                return position >= 0 && position < list.Length
                    ? list[position]
                    : CelValue.Error($"index out of range: {key} (list of size {list.Length})");
            case (ValueKind.Map, ValueKind.String):
                return target.AsMap.TryGetValue(key.AsString, out var value) ? value : CelValue.Error($"no such key: '{key.AsString}'");
            default:
                return CelValue.Error($"no such overload for index applied to ({target.TypeName}, {key.TypeName})");
        }
    }
}

internal sealed class ListNode(int line, int column, IReadOnlyList<Node> elements) : Node(line, column)
{
    public override void Check(Checker checker)
    {
        CaveatType? element = null;
        foreach (var node in elements)
        {
            checker.Check(node);
            element = element is null ? node.Type : Checker.Unify(element, node.Type) ?? CaveatType.Any;
        }

        Type = CaveatType.List(element is null || element.Kind == TypeKind.Null ? CaveatType.Any : element);
    }

    public override CelValue Evaluate(Evaluation evaluation)
    {
        evaluation.Charge(1 + elements.Count);
        var values = new CelValue[elements.Count];
        CelValue? problem = null;
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = elements[i].Evaluate(evaluation);
            if (values[i].IsMissingOrError)
            {
                problem = problem is null ? values[i] : CelValue.FirstProblem(problem.Value, values[i]);
            }
        }

        return problem ?? CelValue.List(values);
    }
}

/// <summary>A map literal; keys must be strings (the only key type caveat maps have), and a duplicate key is an error as in CEL.</summary>
internal sealed class MapNode(int line, int column, IReadOnlyList<(Node Key, Node Value)> entries) : Node(line, column)
{
    public override void Check(Checker checker)
    {
        CaveatType? valueType = null;
        foreach (var (key, value) in entries)
        {
            checker.Check(key);
            checker.Check(value);
            if (!key.Type.IsDynamic && key.Type.Kind != TypeKind.String)
            {
                throw key.CompileError($"map keys must be strings, not '{key.Type}'");
            }

            valueType = valueType is null ? value.Type : Checker.Unify(valueType, value.Type) ?? CaveatType.Any;
        }

        Type = CaveatType.Map(valueType is null || valueType.Kind == TypeKind.Null ? CaveatType.Any : valueType);
    }

    public override CelValue Evaluate(Evaluation evaluation)
    {
        evaluation.Charge(1 + entries.Count);
        var map = new Dictionary<string, CelValue>(entries.Count, StringComparer.Ordinal);
        CelValue? problem = null;
        foreach (var (keyNode, valueNode) in entries)
        {
            var key = keyNode.Evaluate(evaluation);
            var value = valueNode.Evaluate(evaluation);
            if (CelValue.FirstProblem(key, value) is { } found)
            {
                problem = problem is null ? found : CelValue.FirstProblem(problem.Value, found);
            }
            else if (key.Kind != ValueKind.String)
            {
                problem ??= CelValue.Error($"map keys must be strings, not '{key.TypeName}'");
            }
            else if (!map.TryAdd(key.AsString, value))
            {
                problem ??= CelValue.Error($"duplicate map key '{key.AsString}'");
            }
        }

        return problem ?? CelValue.Map(map);
    }
}

/// <summary>A function, method or arithmetic/negation operator, resolved against <see cref="Functions"/>.</summary>
internal sealed class CallNode(int line, int column, string name, bool isMethod, IReadOnlyList<Node> arguments) : Node(line, column)
{
    private Overload[] candidates = [];
    private Overload? bound;
    private Regex? literalPattern;

    public override void Check(Checker checker)
    {
        foreach (var argument in arguments)
        {
            checker.Check(argument);
        }

        var display = Functions.Display(name);
        var style = isMethod ? CallStyle.Method : CallStyle.Function;
        var named = Functions.Find(name) ?? throw CompileError($"undeclared reference to function '{display}'");
        var types = arguments.Select(a => a.Type).ToArray();
        candidates = named.Where(o => (o.Style & style) != 0 && o.Parameters.Length == types.Length
            && o.Parameters.Zip(types).All(pair => Checker.Matches(pair.First, pair.Second))).ToArray();
        if (candidates.Length == 0)
        {
            var shape = isMethod ? $"{types[0]}.{display}{TypeList(types.Skip(1))}" : $"'{display}' applied to {TypeList(types)}";
            throw CompileError($"found no matching overload for {shape}");
        }

        if (candidates.Length == 1 && !types.Any(t => t.IsDynamic))
        {
            bound = candidates[0];
        }

        var results = candidates.Select(c => c.Result).Distinct().ToArray();
        Type = results.Length == 1 ? results[0] : CaveatType.Any;
        if (name == "_+_" && types[0].Kind == TypeKind.List && types[1].Kind == TypeKind.List)
        {
            Type = Checker.Unify(types[0], types[1]) ?? CaveatType.List(CaveatType.Any);
        }

        // A literal pattern is compiled once here rather than at every evaluation, and its errors are compile errors.
        if (name == "matches" && arguments[1] is LiteralNode { Value.Kind: ValueKind.String } pattern)
        {
            literalPattern = Functions.TryCompilePattern(pattern.Value.AsString, out var error) ?? throw pattern.CompileError(error!);
        }
    }

    public override CelValue Evaluate(Evaluation evaluation)
    {
        evaluation.Charge(1);
        var left = arguments[0].Evaluate(evaluation);
        var right = arguments.Count > 1 ? arguments[1].Evaluate(evaluation) : CelValue.Null;
        var problem = arguments.Count > 1 ? CelValue.FirstProblem(left, right) : left.IsMissingOrError ? left : null;
        if (problem is { } stop)
        {
            return stop;
        }

        if (literalPattern is not null && left.Kind == ValueKind.String)
        {
            return Functions.Matches(literalPattern, left.AsString, evaluation);
        }

        var overload = bound;
        if (overload is null)
        {
            foreach (var candidate in candidates)
            {
                if (candidate.MatchesValues(left, right))
                {
                    overload = candidate;
                    break;
                }
            }
        }

        if (overload is null)
        {
            var kinds = arguments.Count > 1 ? $"({left.TypeName}, {right.TypeName})" : $"({left.TypeName})";
            return CelValue.Error($"no such overload for '{Functions.Display(name)}' applied to {kinds}");
        }

        return overload.Invoke(left, right, evaluation);
    }
}

internal enum ComparisonOperator
{
    Equal,
    NotEqual,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

/// <summary>Equality (heterogeneous across numbers, false across other kinds) and ordering (numbers across kinds; strings, bytes, bools, times).</summary>
internal sealed class ComparisonNode(int line, int column, ComparisonOperator op, Node left, Node right) : Node(line, column)
{
    private static readonly string[] Symbols = ["==", "!=", "<", "<=", ">", ">="];

    public override void Check(Checker checker)
    {
        checker.Check(left);
        checker.Check(right);
        var allowed = op is ComparisonOperator.Equal or ComparisonOperator.NotEqual
            ? Checker.CanCompareEqual(left.Type, right.Type)
            : Checker.CanOrder(left.Type, right.Type);
        if (!allowed)
        {
            throw CompileError($"found no matching overload for '{Symbols[(int)op]}' applied to ({left.Type}, {right.Type})");
        }

        Type = CaveatType.Bool;
    }

    public override CelValue Evaluate(Evaluation evaluation)
    {
        evaluation.Charge(1);
        var a = left.Evaluate(evaluation);
        var b = right.Evaluate(evaluation);
        if (CelValue.FirstProblem(a, b) is { } problem)
        {
            return problem;
        }

        if (op is ComparisonOperator.Equal or ComparisonOperator.NotEqual)
        {
            ChargeForSize(a, evaluation);
            return CelValue.Bool(CelValue.ValuesEqual(a, b) == (op == ComparisonOperator.Equal));
        }

        ChargeForSize(a, evaluation);
        var order = CelValue.Compare(a, b);
        if (order is null)
        {
            return a.IsNumber && b.IsNumber
                ? CelValue.False // NaN is unordered: every comparison with it is false.
                : CelValue.Error($"no such overload for '{Symbols[(int)op]}' applied to ({a.TypeName}, {b.TypeName})");
        }

        return CelValue.Bool(op switch
        {
            ComparisonOperator.Less => order < 0,
            ComparisonOperator.LessOrEqual => order <= 0,
            ComparisonOperator.Greater => order > 0,
            _ => order >= 0,
        });
    }

    private static void ChargeForSize(CelValue value, Evaluation evaluation)
    {
        switch (value.Kind)
        {
            case ValueKind.String:
                evaluation.ChargeLength(value.AsString.Length);
                break;
            case ValueKind.Bytes:
                evaluation.ChargeLength(value.AsBytes.Length);
                break;
            case ValueKind.List:
                evaluation.Charge(value.AsList.Length);
                break;
            case ValueKind.Map:
                evaluation.Charge(value.AsMap.Count);
                break;
        }
    }
}

/// <summary><c>x in list</c> (equality with any element) and <c>key in map</c>.</summary>
internal sealed class InNode(int line, int column, Node element, Node container) : Node(line, column)
{
    public override void Check(Checker checker)
    {
        checker.Check(element);
        checker.Check(container);
        var ok = container.Type.Kind switch
        {
            TypeKind.List => Checker.CanCompareEqual(element.Type, container.Type.ElementType!),
            TypeKind.Map => element.Type.IsDynamic || element.Type.Kind == TypeKind.String,
            TypeKind.Any => true,
            _ => false,
        };
        if (!ok)
        {
            throw CompileError($"found no matching overload for 'in' applied to ({element.Type}, {container.Type})");
        }

        Type = CaveatType.Bool;
    }

    public override CelValue Evaluate(Evaluation evaluation)
    {
        evaluation.Charge(1);
        var item = element.Evaluate(evaluation);
        var target = container.Evaluate(evaluation);
        if (CelValue.FirstProblem(item, target) is { } problem)
        {
            return problem;
        }

        switch (target.Kind)
        {
            case ValueKind.List:
                var list = target.AsList;
                evaluation.Charge(list.Length);
                foreach (var candidate in list)
                {
                    if (CelValue.ValuesEqual(item, candidate))
                    {
                        return CelValue.True;
                    }
                }

                return CelValue.False;
            case ValueKind.Map:
                return CelValue.Bool(item.Kind == ValueKind.String && target.AsMap.ContainsKey(item.AsString));
            default:
                return CelValue.Error($"no such overload for 'in' applied to ({item.TypeName}, {target.TypeName})");
        }
    }
}

/// <summary>
/// <c>&amp;&amp;</c> and <c>||</c>, commutative as in CEL: a decisive operand (false for and, true for or) wins whichever side
/// it is on, even over a missing or errored one; otherwise missing beats error, because the absent value might still decide.
/// </summary>
internal sealed class LogicalNode(int line, int column, bool isAnd, Node left, Node right) : Node(line, column)
{
    public override void Check(Checker checker)
    {
        checker.Check(left);
        checker.Check(right);
        foreach (var operand in (ReadOnlySpan<Node>)[left, right])
        {
            if (!operand.Type.IsDynamic && operand.Type.Kind != TypeKind.Bool)
            {
                throw CompileError($"found no matching overload for '{(isAnd ? "&&" : "||")}' applied to ({left.Type}, {right.Type})");
            }
        }

        Type = CaveatType.Bool;
    }

    public override CelValue Evaluate(Evaluation evaluation)
    {
        evaluation.Charge(1);
        var decisive = !isAnd;
        var a = AsOperand(left.Evaluate(evaluation));
        if (a.Kind == ValueKind.Bool && a.AsBool == decisive)
        {
            return a;
        }

        var b = AsOperand(right.Evaluate(evaluation));
        if (b.Kind == ValueKind.Bool)
        {
            // b decides, or a is the same non-decisive bool, or a is missing/error and b cannot override it.
            return b.AsBool == decisive || a.Kind == ValueKind.Bool ? b : a;
        }

        if (a.Kind == ValueKind.Bool)
        {
            return b;
        }

        return CelValue.FirstProblem(a, b)!.Value;
    }

    private CelValue AsOperand(CelValue value) =>
        value.Kind is ValueKind.Bool or ValueKind.Missing or ValueKind.Error
            ? value
            : CelValue.Error($"no such overload for '{(isAnd ? "&&" : "||")}' applied to {value.TypeName}");
}

/// <summary><c>c ? a : b</c>; a missing condition gives missing, as only its value could tell which branch decides.</summary>
internal sealed class ConditionalNode(int line, int column, Node condition, Node whenTrue, Node whenFalse) : Node(line, column)
{
    public override void Check(Checker checker)
    {
        checker.Check(condition);
        checker.Check(whenTrue);
        checker.Check(whenFalse);
        if (!condition.Type.IsDynamic && condition.Type.Kind != TypeKind.Bool)
        {
            throw condition.CompileError($"the condition of '?:' must be bool, not '{condition.Type}'");
        }

        Type = Checker.Unify(whenTrue.Type, whenFalse.Type)
            ?? throw CompileError($"the branches of '?:' have different types ({whenTrue.Type}, {whenFalse.Type})");
    }

    public override CelValue Evaluate(Evaluation evaluation)
    {
        evaluation.Charge(1);
        var test = condition.Evaluate(evaluation);
        return test.Kind switch
        {
            ValueKind.Bool => test.AsBool ? whenTrue.Evaluate(evaluation) : whenFalse.Evaluate(evaluation),
            ValueKind.Missing or ValueKind.Error => test,
            _ => CelValue.Error($"the condition of '?:' must be bool, not '{test.TypeName}'"),
        };
    }
}

internal enum ComprehensionKind
{
    All,
    Exists,
    ExistsOne,
    Map,
    Filter,
}

/// <summary>
/// The macros <c>all exists exists_one map filter</c> over a list's elements or a map's keys. <c>all</c> and <c>exists</c>
/// are folds of <c>&amp;&amp;</c> and <c>||</c> and so share their partial evaluation; the others are strict.
/// Every iteration costs 1 unit on top of its body's nodes.
/// </summary>
internal sealed class ComprehensionNode(
    int line, int column, ComprehensionKind kind, Node target, string variable, Node body, Node? transform) : Node(line, column)
{
    private int slot;

    public override void Check(Checker checker)
    {
        checker.Check(target);
        var elementType = target.Type.Kind switch
        {
            TypeKind.List => target.Type.ElementType!,
            TypeKind.Map => CaveatType.String,
            TypeKind.Any => CaveatType.Any,
            _ => throw CompileError($"'{Name}' needs a list or a map, not '{target.Type}'"),
        };
        slot = checker.PushVariable(variable, elementType);
        checker.Check(body);
        if (transform is not null)
        {
            checker.Check(transform);
        }

        checker.PopVariable();
        var predicate = kind == ComprehensionKind.Map && transform is null ? null : body;
        if (predicate is not null && !predicate.Type.IsDynamic && predicate.Type.Kind != TypeKind.Bool)
        {
            throw predicate.CompileError($"the predicate of '{Name}' must be bool, not '{predicate.Type}'");
        }

        Type = kind switch
        {
            ComprehensionKind.Map => CaveatType.List((transform ?? body).Type),
            ComprehensionKind.Filter => CaveatType.List(elementType),
            _ => CaveatType.Bool,
        };
    }

    private string Name => kind switch
    {
        ComprehensionKind.ExistsOne => "exists_one",
        _ => kind.ToString().ToLowerInvariant(),
    };

    public override CelValue Evaluate(Evaluation evaluation)
    {
        evaluation.Charge(1);
        var source = target.Evaluate(evaluation);
        if (source.IsMissingOrError)
        {
            return source;
        }

        if (source.Kind is not (ValueKind.List or ValueKind.Map))
        {
            return CelValue.Error($"'{Name}' needs a list or a map, not '{source.TypeName}'");
        }

        return kind switch
        {
            ComprehensionKind.All or ComprehensionKind.Exists => Fold(source, evaluation),
            ComprehensionKind.ExistsOne => CountOne(source, evaluation),
            _ => Collect(source, evaluation),
        };
    }

    private static IEnumerable<CelValue> Elements(CelValue source)
    {
        if (source.Kind == ValueKind.List)
        {
            return source.AsList;
        }

        return source.AsMap.Keys.Select(CelValue.String);
    }

    private CelValue Step(CelValue element, Node node, Evaluation evaluation)
    {
        evaluation.Charge(1);
        evaluation.Slots[slot] = element;
        return node.Evaluate(evaluation);
    }

    private CelValue Fold(CelValue source, Evaluation evaluation)
    {
        var decisive = kind == ComprehensionKind.Exists;
        CelValue? pending = null;
        foreach (var element in Elements(source))
        {
            var result = Step(element, body, evaluation);
            if (result.Kind == ValueKind.Bool)
            {
                if (result.AsBool == decisive)
                {
                    return result;
                }

                continue;
            }

            if (!result.IsMissingOrError)
            {
                result = CelValue.Error($"the predicate of '{Name}' gave '{result.TypeName}', not bool");
            }

            pending = pending is null ? result : CelValue.FirstProblem(pending.Value, result);
        }

        return pending ?? CelValue.Bool(!decisive);
    }

    private CelValue CountOne(CelValue source, Evaluation evaluation)
    {
        var count = 0;
        CelValue? pending = null;
        foreach (var element in Elements(source))
        {
            var result = Step(element, body, evaluation);
            if (result.Kind == ValueKind.Bool)
            {
                count += result.AsBool ? 1 : 0;
                continue;
            }

            if (!result.IsMissingOrError)
            {
                result = CelValue.Error($"the predicate of 'exists_one' gave '{result.TypeName}', not bool");
            }

            pending = pending is null ? result : CelValue.FirstProblem(pending.Value, result);
        }

        return pending ?? CelValue.Bool(count == 1);
    }

    private CelValue Collect(CelValue source, Evaluation evaluation)
    {
        var results = new List<CelValue>();
        foreach (var element in Elements(source))
        {
            var include = true;
            if (kind == ComprehensionKind.Filter || transform is not null)
            {
                var test = Step(element, body, evaluation);
                if (test.IsMissingOrError)
                {
                    return test;
                }

                if (test.Kind != ValueKind.Bool)
                {
                    return CelValue.Error($"the predicate of '{Name}' gave '{test.TypeName}', not bool");
                }

                include = test.AsBool;
            }

            if (!include)
            {
                continue;
            }

            var value = kind == ComprehensionKind.Filter ? element : Step(element, transform ?? body, evaluation);
            if (value.IsMissingOrError)
            {
                return value;
            }

            results.Add(value);
        }

        return CelValue.List([.. results]);
    }
}
