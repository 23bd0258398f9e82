namespace AuthzGrpc.Core.Schema;

/// <summary>
/// Parses the schema language (the subset of SpiceDB's that AuthzGrpc evaluates). Precedence follows SpiceDB's
/// parser: <c>+</c> binds tightest, then <c>&amp;</c>, then <c>-</c>; each associates to the left, so
/// <c>a - b &amp; c</c> is <c>a - (b &amp; c)</c> and <c>a &amp; b - c</c> is <c>(a &amp; b) - c</c>.
/// </summary>
public static class SchemaParser
{
    /// <summary>Longest type, relation or permission name accepted.</summary>
    public const int MaxNameLength = 64;

    /// <summary>
    /// Most operators (<c>+ &amp; -</c>) in one permission's expression. Real models use a handful; the bound keeps the
    /// compiler's and the evaluator's recursion over the expression shallow, so no schema can exhaust the stack.
    /// </summary>
    public const int MaxOperators = 256;

    /// <summary>Deepest nesting of parentheses in one expression, for the same reason.</summary>
    public const int MaxParentheses = 32;

    internal static readonly HashSet<string> Keywords = ["definition", "relation", "permission", "nil", "caveat", "with", "use"];

    /// <summary>Parses <paramref name="text"/>; throws <see cref="SchemaException"/> at the first error.</summary>
    public static SchemaDocument Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parser = new Cursor(SchemaLexer.Tokenize(text));
        var definitions = new List<DefinitionSyntax>();
        var caveats = new List<CaveatSyntax>();
        SourcePosition? useExpiration = null;
        while (parser.Peek.Kind != TokenKind.End)
        {
            if (parser.Peek is { Kind: TokenKind.Identifier, Text: "use" })
            {
                useExpiration ??= ParseUse(parser);
                continue;
            }

            if (parser.Peek is { Kind: TokenKind.Identifier, Text: "caveat" })
            {
                caveats.Add(ParseCaveat(parser));
                continue;
            }

            definitions.Add(ParseDefinition(parser));
        }

        return new SchemaDocument(definitions) { UseExpiration = useExpiration, Caveats = caveats };
    }

    // SpiceDB's feature flags: 'use expiration' is the one there is.
    private static SourcePosition ParseUse(Cursor p)
    {
        var use = p.Next();
        var feature = ExpectName(p, "feature after 'use'");
        if (feature.Text != "expiration")
        {
            throw Error(feature, $"'use {feature.Text}' is not a feature: the one there is, is 'use expiration'");
        }

        return Pos(use);
    }

    // 'caveat name(param type, ...) { expression }': the expression is one token (the lexer keeps CEL whole).
    private static CaveatSyntax ParseCaveat(Cursor p)
    {
        p.Next();
        var (name, position) = ParseTypeName(p);
        p.Expect(TokenKind.LeftParen, $"expected '(' and the parameters of caveat '{name}'");
        var parameters = new List<CaveatParameterSyntax>();
        while (true)
        {
            var parameter = ExpectName(p, $"parameter name of caveat '{name}'");
            parameters.Add(new CaveatParameterSyntax(parameter.Text, ParseCaveatType(p, parameter.Text), Pos(parameter)));
            if (p.Peek.Kind != TokenKind.Comma)
            {
                break;
            }

            p.Next();
        }

        p.Expect(TokenKind.RightParen, $"expected ',' or ')' after the parameters of caveat '{name}'");
        var open = p.Expect(TokenKind.LeftBrace, $"expected '{{' and the expression of caveat '{name}'");
        var body = p.Expect(TokenKind.CaveatBody, $"expected the expression of caveat '{name}'");
        p.Expect(TokenKind.RightBrace, $"expected '}}' to close caveat '{name}'");
        if (string.IsNullOrWhiteSpace(body.Text))
        {
            throw Error(open, $"caveat '{name}' has no expression: write the condition between the braces");
        }

        return new CaveatSyntax(name, position, parameters, body.Text, Pos(body));
    }

    // A parameter's type as written: a name, with type arguments for the generic ones ('list<string>', 'map<any>').
    private static string ParseCaveatType(Cursor p, string parameter)
    {
        var type = ExpectName(p, $"type of caveat parameter '{parameter}' (int, uint, double, bool, string, bytes, duration, timestamp, ipaddress, any, list<T>, map<T>)");
        if (p.Peek.Kind != TokenKind.Less)
        {
            return type.Text;
        }

        p.Next();
        var arguments = new List<string> { ParseCaveatType(p, parameter) };
        while (p.Peek.Kind == TokenKind.Comma)
        {
            p.Next();
            arguments.Add(ParseCaveatType(p, parameter));
        }

        p.Expect(TokenKind.Greater, $"expected '>' to close the type arguments of '{type.Text}'");
        return $"{type.Text}<{string.Join(", ", arguments)}>";
    }

    private static DefinitionSyntax ParseDefinition(Cursor p)
    {
        var keyword = p.Peek;
        if (keyword.Kind != TokenKind.Identifier || keyword.Text != "definition")
        {
            throw Error(keyword, $"expected 'definition' but found {keyword.Describe()}");
        }

        p.Next();
        var (name, position) = ParseTypeName(p);
        p.Expect(TokenKind.LeftBrace, $"expected '{{' to open the body of definition '{name}'");
        var members = new List<MemberSyntax>();
        var rules = new List<RuleSyntax>();
        while (p.Peek.Kind != TokenKind.RightBrace)
        {
            var token = p.Peek;
            if (token.Kind == TokenKind.End)
            {
                throw Error(token, $"definition '{name}' is never closed: add '}}'");
            }

            if (token.Kind == TokenKind.Identifier && RuleKeywords.TryGetValue(token.Text, out var kind))
            {
                p.Next();
                rules.Add(ParseRule(p, kind, token));
                continue;
            }

            if (token.Kind != TokenKind.Identifier || (token.Text != "relation" && token.Text != "permission"))
            {
                throw Error(token, $"expected 'relation', 'permission' or a management rule in definition '{name}' but found {token.Describe()}");
            }

            p.Next();
            members.Add(token.Text == "relation" ? ParseRelation(p) : ParsePermission(p));
        }

        p.Next();
        return new DefinitionSyntax(name, position, members) { Rules = rules };
    }

    // Rule keywords open a statement only where a member could start, so they stay usable as names.
    private static readonly Dictionary<string, RuleKind> RuleKeywords = new(StringComparer.Ordinal)
    {
        ["grant"] = RuleKind.Grant,
        ["revoke"] = RuleKind.Revoke,
        ["manage"] = RuleKind.Manage,
        ["minimum"] = RuleKind.Minimum,
        ["base"] = RuleKind.Base,
        ["leave"] = RuleKind.Leave,
        ["transfer"] = RuleKind.Transfer,
        ["unique"] = RuleKind.Unique,
        ["immutable"] = RuleKind.Immutable,
        ["exclusive"] = RuleKind.Exclusive,
        ["parent"] = RuleKind.Parent,
        ["create"] = RuleKind.Create,
        ["delete"] = RuleKind.Delete,
        ["audit"] = RuleKind.Audit,
        ["single"] = RuleKind.Single,
        ["match"] = RuleKind.Match,
        ["keys"] = RuleKind.Keys,
        ["summary"] = RuleKind.Summary,
        ["read"] = RuleKind.Read,
        ["members"] = RuleKind.Members,
        ["require"] = RuleKind.Require,
        ["invite"] = RuleKind.Invite,
    };

    private static RuleSyntax ParseRule(Cursor p, RuleKind kind, Token keyword)
    {
        var position = Pos(keyword);
        switch (kind)
        {
            case RuleKind.Grant or RuleKind.Revoke or RuleKind.Manage:
            {
                var relations = ParseNameList(p);
                var by = ParseBy(p, keyword.Text);
                var holding = false;
                NameSyntax? holdingName = null;
                var exceptSelf = false;
                NameSyntax? to = null;
                NameSyntax? unless = null;
                while (p.Peek is { Kind: TokenKind.Identifier, Text: "holding" or "except" or "to" or "unless" })
                {
                    var option = p.Next();
                    if (option.Text is "to" or "unless")
                    {
                        if ((option.Text == "to" ? to : unless) is not null)
                        {
                            throw Error(option, $"'{option.Text}' appears twice in one rule");
                        }

                        var condition = Name(ExpectName(p, "permission"));
                        to = option.Text == "to" ? condition : to;
                        unless = option.Text == "unless" ? condition : unless;
                    }
                    else if (option.Text == "holding")
                    {
                        if (kind == RuleKind.Revoke)
                        {
                            throw Error(option, "'holding' applies to granting: revoking what one does not hold is allowed");
                        }

                        holding = true;
                        if (p.Peek.Kind == TokenKind.Identifier && !IsStatementWord(p.Peek.Text))
                        {
                            holdingName = Name(ExpectName(p, "permission"));
                        }
                    }
                    else
                    {
                        ExpectWord(p, "self", "'except' is followed by 'self'");
                        exceptSelf = true;
                    }
                }

                return new RuleSyntax(kind, relations, by, holding, exceptSelf, 0, null, position) { HoldingName = holdingName, To = to, Unless = unless };
            }

            case RuleKind.Single:
                return new RuleSyntax(kind, ParseNameList(p), null, false, false, 0, null, position);

            case RuleKind.Match:
            {
                var relation = Name(ExpectName(p, "relation"));
                if (p.Peek is not { Kind: TokenKind.Identifier, Text: "by" or "within" or "as" } mode)
                {
                    throw Error(p.Peek, $"expected 'by', 'within' or 'as' after 'match {relation.Name}' (as in 'match documents by project') but found {p.Peek.Describe()}");
                }

                p.Next();
                var other = Name(ExpectName(p, "relation"));
                return new RuleSyntax(kind, [relation], other, false, false, 0, null, position) { MatchMode = mode.Text };
            }

            case RuleKind.Exclusive:
            {
                var relations = ParseNameList(p);
                if (relations.Count < 2)
                {
                    throw Error(keyword, "'exclusive' needs at least two relations, as in 'exclusive owner, admin, viewer'");
                }

                return new RuleSyntax(kind, relations, null, false, false, 0, null, position);
            }

            case RuleKind.Create:
            {
                var under = ParseBy(p, "create");
                if (p.Peek.Kind != TokenKind.Arrow)
                {
                    throw Error(p.Peek, $"expected '->' and the permission needed on the parent after 'create by {under.Name}' (as in 'create by organization->create_projects'), but found {p.Peek.Describe()}");
                }

                p.Next();
                var target = Name(ExpectName(p, "permission"));
                return new RuleSyntax(kind, [under], null, false, false, 0, null, position) { ByTarget = target };
            }

            case RuleKind.Require:
            {
                ExpectWord(p, "one", "expected 'one' and the required object after 'require' (as in 'require one environment#production_of')");
                var (type, typePosition) = ParseTypeName(p);
                if (p.Peek.Kind != TokenKind.Hash)
                {
                    throw Error(p.Peek, $"expected '#' and the relation that marks the required {type} after 'require one {type}' (as in 'require one environment#production_of'), but found {p.Peek.Describe()}");
                }

                p.Next();
                var relation = Name(ExpectName(p, "relation"));
                return new RuleSyntax(kind, [relation], null, false, false, 1, null, position) { RequiredType = new NameSyntax(type, typePosition) };
            }

            case RuleKind.Delete or RuleKind.Audit or RuleKind.Keys or RuleKind.Summary or RuleKind.Invite or RuleKind.Read or RuleKind.Members:
                return new RuleSyntax(kind, [], ParseBy(p, keyword.Text), false, false, 0, null, position);

            case RuleKind.Minimum:
            {
                var count = p.Peek;
                if (count.Kind != TokenKind.Number || !int.TryParse(count.Text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) || n < 1)
                {
                    throw Error(count, $"expected a count of at least 1 after 'minimum' (as in 'minimum 1 owner') but found {count.Describe()}");
                }

                p.Next();
                var relation = Name(ExpectName(p, "relation"));
                return new RuleSyntax(kind, [relation], null, false, false, n, null, position);
            }

            case RuleKind.Leave:
                return new RuleSyntax(kind, [], ParseBy(p, "leave"), false, false, 0, null, position);
            case RuleKind.Transfer:
            {
                var relation = Name(ExpectName(p, "relation"));
                return new RuleSyntax(kind, [relation], ParseBy(p, "transfer"), false, false, 0, null, position);
            }

            case RuleKind.Immutable or RuleKind.Unique:
            {
                var relation = Name(ExpectName(p, "relation"));
                NameSyntax? when = null;
                if (p.Peek is { Kind: TokenKind.Identifier, Text: "when" })
                {
                    p.Next();
                    when = Name(ExpectName(p, "relation"));
                }

                return new RuleSyntax(kind, [relation], null, false, false, 0, when, position);
            }

            default:
                return new RuleSyntax(kind, [Name(ExpectName(p, "relation"))], null, false, false, 0, null, position);
        }
    }

    private static List<NameSyntax> ParseNameList(Cursor p)
    {
        var names = new List<NameSyntax> { Name(ExpectName(p, "relation")) };
        while (p.Peek.Kind == TokenKind.Comma)
        {
            p.Next();
            names.Add(Name(ExpectName(p, "relation")));
        }

        return names;
    }

    // Words that start the next clause or statement, so they cannot be the optional name after 'holding'.
    private static bool IsStatementWord(string word) =>
        word is "except" or "to" or "unless" or "relation" or "permission" || RuleKeywords.ContainsKey(word);

    private static NameSyntax ParseBy(Cursor p, string rule)
    {
        ExpectWord(p, "by", $"expected 'by' and the permission a caller needs after '{rule}'");
        return Name(ExpectName(p, "permission"));
    }

    private static void ExpectWord(Cursor p, string word, string detail)
    {
        if (p.Peek is not { Kind: TokenKind.Identifier } token || token.Text != word)
        {
            throw Error(p.Peek, $"{detail}, but found {p.Peek.Describe()}");
        }

        p.Next();
    }

    private static NameSyntax Name(Token token) => new(token.Text, Pos(token));

    private static RelationSyntax ParseRelation(Cursor p)
    {
        var nameToken = ExpectName(p, "relation");
        p.Expect(TokenKind.Colon, $"expected ':' and the allowed subject types after 'relation {nameToken.Text}'");
        var types = new List<SubjectTypeSyntax> { ParseSubjectTypeWithTrait(p) };
        while (p.Peek.Kind == TokenKind.Pipe)
        {
            p.Next();
            types.Add(ParseSubjectTypeWithTrait(p));
        }

        return new RelationSyntax(nameToken.Text, Pos(nameToken), types);
    }

    // A subject type and its traits, as SpiceDB writes them: 'user with expiration', 'user with some_caveat',
    // 'user with some_caveat and expiration' (either order).
    private static SubjectTypeSyntax ParseSubjectTypeWithTrait(Cursor p)
    {
        var type = ParseSubjectType(p);
        if (p.Peek is not { Kind: TokenKind.Identifier, Text: "with" })
        {
            return type;
        }

        var with = p.Next();
        while (true)
        {
            if (p.Peek is { Kind: TokenKind.Identifier, Text: "expiration" } && type.WithExpiration is null)
            {
                p.Next();
                type = type with { WithExpiration = Pos(with) };
            }
            else if (type.Caveat is null)
            {
                var (caveat, position) = ParseTypeName(p);
                type = type with { Caveat = caveat, CaveatPosition = position };
            }
            else
            {
                throw Error(p.Peek, $"expected 'expiration' after 'and' but found {p.Peek.Describe()}");
            }

            if (p.Peek is not { Kind: TokenKind.Identifier, Text: "and" })
            {
                return type;
            }

            p.Next();
        }
    }

    private static SubjectTypeSyntax ParseSubjectType(Cursor p)
    {
        if (p.Peek.Kind != TokenKind.Identifier)
        {
            throw Error(p.Peek, $"expected a subject type (such as 'user', 'group#member' or 'user:*') but found {p.Peek.Describe()}");
        }

        var (type, position) = ParseTypeName(p);
        if (p.Peek.Kind == TokenKind.Colon)
        {
            p.Next();
            p.Expect(TokenKind.Star, $"expected '*' after '{type}:' (a wildcard is written '{type}:*')");
            return new SubjectTypeSyntax(type, null, true, position);
        }

        if (p.Peek.Kind == TokenKind.Hash)
        {
            p.Next();
            var relation = ExpectName(p, "subject relation");
            return new SubjectTypeSyntax(type, relation.Text, false, position);
        }

        return new SubjectTypeSyntax(type, null, false, position);
    }

    private static PermissionSyntax ParsePermission(Cursor p)
    {
        var nameToken = ExpectName(p, "permission");
        p.Expect(TokenKind.Equals, $"expected '=' and an expression after 'permission {nameToken.Text}'");
        p.Operators = 0;
        var expression = ParseExclusionLevel(p);
        return new PermissionSyntax(nameToken.Text, Pos(nameToken), expression);
    }

    // Lowest level: '-', whose operands are intersections.
    private static ExpressionSyntax ParseExclusionLevel(Cursor p) =>
        ParseLeftAssociative(p, TokenKind.Minus, SetOperator.Exclusion, ParseIntersectionLevel);

    // Middle level: '&', whose operands are unions.
    private static ExpressionSyntax ParseIntersectionLevel(Cursor p) =>
        ParseLeftAssociative(p, TokenKind.Ampersand, SetOperator.Intersection, ParseUnionLevel);

    // Highest level: '+', whose operands are arrows and primaries.
    private static ExpressionSyntax ParseUnionLevel(Cursor p) =>
        ParseLeftAssociative(p, TokenKind.Plus, SetOperator.Union, ParseArrow);

    // One precedence level: operands joined by one operator, grouped from the left (a - b - c is (a - b) - c).
    private static ExpressionSyntax ParseLeftAssociative(Cursor p, TokenKind token, SetOperator setOperator, Func<Cursor, ExpressionSyntax> parseOperand)
    {
        var left = parseOperand(p);
        while (p.Peek.Kind == token)
        {
            var op = p.Operator();
            var right = parseOperand(p);
            left = new BinarySyntax(setOperator, left, right, Pos(op));
        }

        return left;
    }

    private static ExpressionSyntax ParseArrow(Cursor p)
    {
        var primary = ParsePrimary(p);
        if (p.Peek.Kind == TokenKind.Dot && primary is NameSyntax functioned)
        {
            return ParseArrowFunction(p, functioned);
        }

        if (p.Peek.Kind != TokenKind.Arrow)
        {
            return primary;
        }

        var arrow = p.Next();
        if (primary is not NameSyntax relation)
        {
            throw Error(arrow, "the left side of '->' must be a relation name, not an expression");
        }

        var target = ExpectName(p, "permission or relation after '->'");
        if (p.Peek.Kind == TokenKind.Arrow)
        {
            throw Error(p.Peek, $"arrows cannot be chained: define a permission for '{relation.Name}->{target.Text}' on the target type and arrow to that");
        }

        if (p.Peek.Kind == TokenKind.Dot)
        {
            throw Error(p.Peek, $"an arrow function is written on the relation, not after the arrow: '{relation.Name}.any({target.Text})' or '{relation.Name}.all({target.Text})'");
        }

        return new ArrowSyntax(relation.Name, target.Text, relation.Position, Pos(target));
    }

    // SpiceDB's arrow functions: 'rel.any(x)' is 'rel->x' (some subject of rel has x); 'rel.all(x)' (an intersection
    // arrow) needs every subject of rel to have x.
    private static ArrowSyntax ParseArrowFunction(Cursor p, NameSyntax relation)
    {
        p.Next();
        var function = ExpectName(p, "arrow function after '.' ('any' or 'all')");
        if (function.Text is not ("any" or "all"))
        {
            throw Error(function, $"'{function.Text}' is not an arrow function: use '{relation.Name}.any(<permission>)' (or '->') or '{relation.Name}.all(<permission>)'");
        }

        var open = p.Peek;
        p.Expect(TokenKind.LeftParen, $"expected '(' and the permission needed after '{relation.Name}.{function.Text}' (as in '{relation.Name}.{function.Text}(view)')");
        var target = ExpectName(p, $"permission or relation inside '.{function.Text}(...)'");
        p.Expect(TokenKind.RightParen, $"expected ')' to close the '(' at line {open.Line}, column {open.Column}");
        if (p.Peek.Kind is TokenKind.Arrow or TokenKind.Dot)
        {
            throw Error(p.Peek, $"arrows cannot be chained: define a permission for '{relation.Name}.{function.Text}({target.Text})' on the target type and arrow to that");
        }

        return new ArrowSyntax(relation.Name, target.Text, relation.Position, Pos(target), All: function.Text == "all");
    }

    private static ExpressionSyntax ParsePrimary(Cursor p)
    {
        var token = p.Peek;
        switch (token.Kind)
        {
            case TokenKind.LeftParen:
            {
                p.Next();
                if (++p.Parentheses > MaxParentheses)
                {
                    throw Error(token, $"parentheses nest more than {MaxParentheses} deep: split the expression into several permissions");
                }

                var inner = ParseExclusionLevel(p);
                p.Expect(TokenKind.RightParen, $"expected ')' to close the '(' at line {token.Line}, column {token.Column}");
                p.Parentheses--;
                return inner;
            }

            case TokenKind.Identifier when token.Text == "nil":
                p.Next();
                return new NilSyntax(Pos(token));
            case TokenKind.Identifier when token.Text is "relation" or "permission" or "definition":
                throw Error(token, $"expected an expression but found the keyword '{token.Text}': the permission's expression is missing");
            case TokenKind.Identifier:
                ValidateName(token, "name");
                p.Next();
                return new NameSyntax(token.Text, Pos(token));
            default:
                throw Error(token, $"expected a relation, permission, 'nil' or '(' but found {token.Describe()}");
        }
    }

    private static (string Name, SourcePosition Position) ParseTypeName(Cursor p)
    {
        var first = ExpectName(p, "type");
        if (p.Peek.Kind != TokenKind.Slash)
        {
            return (first.Text, Pos(first));
        }

        p.Next();
        var second = ExpectName(p, "type after the prefix");
        return ($"{first.Text}/{second.Text}", Pos(first));
    }

    private static Token ExpectName(Cursor p, string what)
    {
        var token = p.Peek;
        if (token.Kind != TokenKind.Identifier)
        {
            throw Error(token, $"expected a {what} name but found {token.Describe()}");
        }

        ValidateName(token, what);
        return p.Next();
    }

    private static void ValidateName(Token token, string what)
    {
        if (Keywords.Contains(token.Text))
        {
            throw Error(token, $"'{token.Text}' is a keyword and cannot be used as a {what} name");
        }

        if (token.Text.Length > MaxNameLength)
        {
            throw Error(token, $"the {what} name is {token.Text.Length} characters long: at most {MaxNameLength} are allowed");
        }

        if (!char.IsAsciiLetterLower(token.Text[0]) || token.Text.Any(char.IsAsciiLetterUpper))
        {
            throw Error(token, $"'{token.Text}' is not a valid {what} name: start with a lowercase letter and use only lowercase letters, digits and '_'");
        }
    }

    private static SourcePosition Pos(Token token) => new(token.Line, token.Column);

    private static SchemaException Error(Token token, string detail) => new(token.Line, token.Column, detail);

    private sealed class Cursor(List<Token> tokens)
    {
        private int _index;

        // Operators in the permission being parsed, and parentheses open around the current token.
        public int Operators { get; set; }

        public int Parentheses { get; set; }

        // Consumes a binary operator, counting it against MaxOperators.
        public Token Operator()
        {
            if (++Operators > MaxOperators)
            {
                throw Error(Peek, $"the expression has more than {MaxOperators} operators: split it into several permissions");
            }

            return Next();
        }

        public Token Peek => tokens[_index];

        public Token Next()
        {
            var token = tokens[_index];
            if (token.Kind != TokenKind.End)
            {
                _index++;
            }

            return token;
        }

        public Token Expect(TokenKind kind, string detail)
        {
            if (Peek.Kind != kind)
            {
                throw Error(Peek, $"{detail}, but found {Peek.Describe()}");
            }

            return Next();
        }
    }
}
