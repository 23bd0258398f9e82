namespace AuthzGrpc.Core.Caveats;

/// <summary>
/// Recursive descent over CEL's grammar (cel-spec langdef.md), with its precedence from loosest to tightest:
/// <c>?:</c>, <c>||</c>, <c>&amp;&amp;</c>, relations and <c>in</c>, <c>+ -</c>, <c>* / %</c>, unary <c>! -</c>, member
/// access, index and calls. Macros (<c>has</c>, <c>all exists exists_one map filter</c>) are expanded here, as CEL does.
/// </summary>
internal sealed class CelParser
{
    /// <summary>Nested sub-expressions (parentheses, arguments, list and map elements) the parser accepts; bounds its recursion.</summary>
    public const int MaxNesting = Checker.MaxDepth;

    private readonly List<Token> tokens;
    private int position;
    private int nesting;

    private CelParser(List<Token> tokens) => this.tokens = tokens;

    public static Node Parse(string expression)
    {
        var parser = new CelParser(new CelLexer(expression).ReadAll());
        var root = parser.ParseExpression();
        if (parser.Current.Kind != TokenKind.End)
        {
            throw parser.Unexpected("end of expression");
        }

        return root;
    }

    private Token Current => tokens[position];

    private Token Advance() => tokens[position++];

    private bool Accept(TokenKind kind)
    {
        if (Current.Kind != kind)
        {
            return false;
        }

        position++;
        return true;
    }

    private Token Expect(TokenKind kind, string what) => Current.Kind == kind ? Advance() : throw Unexpected(what);

    private CaveatException Unexpected(string expected)
    {
        var token = Current;
        var found = token.Kind == TokenKind.End ? "end of expression" : $"'{Describe(token)}'";
        return CaveatException.CompileAt(token.Line, token.Column, $"syntax error: expected {expected}, found {found}");
    }

    private static string Describe(Token token) => token.Kind switch
    {
        TokenKind.Identifier or TokenKind.Int or TokenKind.UInt or TokenKind.Double => token.Text,
        TokenKind.String => "string literal",
        TokenKind.Bytes => "bytes literal",
        TokenKind.True or TokenKind.False or TokenKind.Null or TokenKind.In => token.Text,
        _ => token.Kind switch
        {
            TokenKind.LeftParen => "(",
            TokenKind.RightParen => ")",
            TokenKind.LeftBracket => "[",
            TokenKind.RightBracket => "]",
            TokenKind.LeftBrace => "{",
            TokenKind.RightBrace => "}",
            TokenKind.Dot => ".",
            TokenKind.Comma => ",",
            TokenKind.Colon => ":",
            TokenKind.Question => "?",
            TokenKind.OrOr => "||",
            TokenKind.AndAnd => "&&",
            TokenKind.Equal => "==",
            TokenKind.NotEqual => "!=",
            TokenKind.Less => "<",
            TokenKind.LessEqual => "<=",
            TokenKind.Greater => ">",
            TokenKind.GreaterEqual => ">=",
            TokenKind.Plus => "+",
            TokenKind.Minus => "-",
            TokenKind.Star => "*",
            TokenKind.Slash => "/",
            TokenKind.Percent => "%",
            _ => "!",
        },
    };

    private Node ParseExpression()
    {
        if (++nesting > MaxNesting)
        {
            throw CaveatException.CompileAt(Current.Line, Current.Column, $"expression nests deeper than {MaxNesting} levels");
        }

        var condition = ParseLogical(isAnd: false);
        if (Current.Kind == TokenKind.Question)
        {
            var question = Advance();
            var whenTrue = ParseLogical(isAnd: false);
            Expect(TokenKind.Colon, "':'");
            var whenFalse = ParseExpression();
            condition = new ConditionalNode(question.Line, question.Column, condition, whenTrue, whenFalse);
        }

        nesting--;
        return condition;
    }

    /// <summary>A chain of <c>||</c> (or <c>&amp;&amp;</c>) becomes a balanced tree, as cel-go builds it, so that long chains stay shallow.</summary>
    private Node ParseLogical(bool isAnd)
    {
        var operands = new List<Node> { isAnd ? ParseRelation() : ParseLogical(isAnd: true) };
        var operators = new List<Token>();
        var kind = isAnd ? TokenKind.AndAnd : TokenKind.OrOr;
        while (Current.Kind == kind)
        {
            operators.Add(Advance());
            operands.Add(isAnd ? ParseRelation() : ParseLogical(isAnd: true));
        }

        return Balance(operands, operators, 0, operands.Count - 1, isAnd);
    }

    private static Node Balance(List<Node> operands, List<Token> operators, int low, int high, bool isAnd)
    {
        if (low == high)
        {
            return operands[low];
        }

        var middle = (low + high) / 2;
        var op = operators[middle];
        return new LogicalNode(op.Line, op.Column, isAnd, Balance(operands, operators, low, middle, isAnd), Balance(operands, operators, middle + 1, high, isAnd));
    }

    private Node ParseRelation()
    {
        var left = ParseAddition();
        while (true)
        {
            var op = Current;
            ComparisonOperator? comparison = op.Kind switch
            {
                TokenKind.Equal => ComparisonOperator.Equal,
                TokenKind.NotEqual => ComparisonOperator.NotEqual,
                TokenKind.Less => ComparisonOperator.Less,
                TokenKind.LessEqual => ComparisonOperator.LessOrEqual,
                TokenKind.Greater => ComparisonOperator.Greater,
                TokenKind.GreaterEqual => ComparisonOperator.GreaterOrEqual,
                _ => null,
            };
            if (comparison is null && op.Kind != TokenKind.In)
            {
                return left;
            }

            position++;
            var right = ParseAddition();
            left = comparison is { } c ? new ComparisonNode(op.Line, op.Column, c, left, right) : new InNode(op.Line, op.Column, left, right);
        }
    }

    private Node ParseAddition()
    {
        var left = ParseMultiplication();
        while (Current.Kind is TokenKind.Plus or TokenKind.Minus)
        {
            var op = Advance();
            var right = ParseMultiplication();
            left = new CallNode(op.Line, op.Column, op.Kind == TokenKind.Plus ? "_+_" : "_-_", false, [left, right]);
        }

        return left;
    }

    private Node ParseMultiplication()
    {
        var left = ParseUnary();
        while (Current.Kind is TokenKind.Star or TokenKind.Slash or TokenKind.Percent)
        {
            var op = Advance();
            var right = ParseUnary();
            var name = op.Kind switch
            {
                TokenKind.Star => "_*_",
                TokenKind.Slash => "_/_",
                _ => "_%_",
            };
            left = new CallNode(op.Line, op.Column, name, false, [left, right]);
        }

        return left;
    }

    private Node ParseUnary()
    {
        var operators = new List<Token>();
        while (Current.Kind is TokenKind.Bang or TokenKind.Minus)
        {
            // A minus directly on an integer literal is part of the literal, so that -9223372036854775808 is an int.
            if (Current.Kind == TokenKind.Minus && tokens[position + 1].Kind is TokenKind.Int or TokenKind.Double
                && tokens[position + 2].Kind is not (TokenKind.Dot or TokenKind.LeftBracket))
            {
                break;
            }

            operators.Add(Advance());
        }

        var operand = ParseMember();
        for (var i = operators.Count - 1; i >= 0; i--)
        {
            var op = operators[i];
            operand = new CallNode(op.Line, op.Column, op.Kind == TokenKind.Bang ? "!_" : "-_", false, [operand]);
        }

        return operand;
    }

    private Node ParseMember()
    {
        var node = ParsePrimary();
        while (true)
        {
            if (Accept(TokenKind.Dot))
            {
                var member = Expect(TokenKind.Identifier, "a field or method name after '.'");
                if (Current.Kind != TokenKind.LeftParen)
                {
                    node = new SelectNode(member.Line, member.Column, node, member.Text);
                    continue;
                }

                var arguments = ParseArguments();
                node = MethodOrMacro(member, node, arguments);
            }
            else if (Current.Kind == TokenKind.LeftBracket)
            {
                var bracket = Advance();
                var index = ParseExpression();
                Expect(TokenKind.RightBracket, "']'");
                node = new IndexNode(bracket.Line, bracket.Column, node, index);
            }
            else
            {
                return node;
            }
        }
    }

    private static Node MethodOrMacro(Token member, Node target, List<Node> arguments)
    {
        ComprehensionKind? macro = member.Text switch
        {
            "all" => ComprehensionKind.All,
            "exists" => ComprehensionKind.Exists,
            "exists_one" => ComprehensionKind.ExistsOne,
            "map" => ComprehensionKind.Map,
            "filter" => ComprehensionKind.Filter,
            _ => null,
        };
        if (macro is null)
        {
            return new CallNode(member.Line, member.Column, member.Text, true, [target, .. arguments]);
        }

        var arity = macro == ComprehensionKind.Map ? "2 or 3" : "2";
        var arityOk = arguments.Count == 2 || (macro == ComprehensionKind.Map && arguments.Count == 3);
        if (!arityOk || arguments[0] is not IdentNode variable)
        {
            throw CaveatException.CompileAt(member.Line, member.Column,
                $"'{member.Text}' takes {arity} arguments, the first a variable name: {member.Text}(x, predicate)");
        }

        return new ComprehensionNode(member.Line, member.Column, macro.Value, target, variable.Name, arguments[1], arguments.Count == 3 ? arguments[2] : null);
    }

    private List<Node> ParseArguments()
    {
        Expect(TokenKind.LeftParen, "'('");
        var arguments = new List<Node>();
        if (Accept(TokenKind.RightParen))
        {
            return arguments;
        }

        do
        {
            arguments.Add(ParseExpression());
        }
        while (Accept(TokenKind.Comma));
        Expect(TokenKind.RightParen, "',' or ')'");
        return arguments;
    }

    private Node ParsePrimary()
    {
        var token = Current;
        switch (token.Kind)
        {
            case TokenKind.Minus:
                Advance();
                var number = Advance();
                return number.Kind == TokenKind.Double
                    ? new LiteralNode(token.Line, token.Column, CelValue.Double(-number.Number), CaveatType.Double)
                    : number.Integer <= 9223372036854775808UL
                        ? new LiteralNode(token.Line, token.Column, CelValue.Int(unchecked(-(long)number.Integer)), CaveatType.Int)
                        : throw CaveatException.CompileAt(number.Line, number.Column, $"integer literal '-{number.Text}' is out of range");
            case TokenKind.Int:
                Advance();
                return token.Integer <= long.MaxValue
                    ? new LiteralNode(token.Line, token.Column, CelValue.Int((long)token.Integer), CaveatType.Int)
                    : throw CaveatException.CompileAt(token.Line, token.Column, $"integer literal '{token.Text}' is out of range (use the u suffix for uint)");
            case TokenKind.UInt:
                Advance();
                return new LiteralNode(token.Line, token.Column, CelValue.UInt(token.Integer), CaveatType.UInt);
            case TokenKind.Double:
                Advance();
                return new LiteralNode(token.Line, token.Column, CelValue.Double(token.Number), CaveatType.Double);
            case TokenKind.String:
                Advance();
                return new LiteralNode(token.Line, token.Column, CelValue.String(token.Text), CaveatType.String);
            case TokenKind.Bytes:
                Advance();
                return new LiteralNode(token.Line, token.Column, CelValue.Bytes(token.Bytes!), CaveatType.Bytes);
            case TokenKind.True or TokenKind.False:
                Advance();
                return new LiteralNode(token.Line, token.Column, CelValue.Bool(token.Kind == TokenKind.True), CaveatType.Bool);
            case TokenKind.Null:
                Advance();
                return new LiteralNode(token.Line, token.Column, CelValue.Null, CaveatType.Null);
            case TokenKind.LeftParen:
                Advance();
                var inner = ParseExpression();
                Expect(TokenKind.RightParen, "')'");
                return inner;
            case TokenKind.LeftBracket:
                Advance();
                var elements = new List<Node>();
                while (Current.Kind != TokenKind.RightBracket)
                {
                    elements.Add(ParseExpression());
                    if (!Accept(TokenKind.Comma))
                    {
                        break;
                    }
                }

                Expect(TokenKind.RightBracket, "',' or ']'");
                return new ListNode(token.Line, token.Column, elements);
            case TokenKind.LeftBrace:
                Advance();
                var entries = new List<(Node, Node)>();
                while (Current.Kind != TokenKind.RightBrace)
                {
                    var key = ParseExpression();
                    Expect(TokenKind.Colon, "':'");
                    entries.Add((key, ParseExpression()));
                    if (!Accept(TokenKind.Comma))
                    {
                        break;
                    }
                }

                Expect(TokenKind.RightBrace, "',' or '}'");
                return new MapNode(token.Line, token.Column, entries);
            case TokenKind.Dot or TokenKind.Identifier:
                // A leading dot names the root scope (".x"); with no packages here it is the same name.
                if (token.Kind == TokenKind.Dot)
                {
                    Advance();
                }

                var name = Expect(TokenKind.Identifier, "an identifier");
                if (Current.Kind != TokenKind.LeftParen)
                {
                    return new IdentNode(name.Line, name.Column, name.Text);
                }

                var arguments = ParseArguments();
                if (name.Text == "has")
                {
                    return arguments is [SelectNode select]
                        ? new HasNode(name.Line, name.Column, select)
                        : throw CaveatException.CompileAt(name.Line, name.Column, "has() takes one field selection, e.g. has(m.key)");
                }

                if (arguments.Count == 0)
                {
                    throw CaveatException.CompileAt(name.Line, name.Column, Functions.Find(name.Text) is null
                        ? $"undeclared reference to function '{name.Text}'"
                        : $"found no matching overload for '{name.Text}' applied to ()");
                }

                return new CallNode(name.Line, name.Column, name.Text, false, arguments);
            default:
                throw Unexpected("an expression");
        }
    }
}
