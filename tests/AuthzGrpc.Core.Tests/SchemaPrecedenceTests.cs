using System.Text;
using AuthzGrpc.Core.Schema;
using Xunit.Abstractions;

namespace AuthzGrpc.Core.Tests;

/// <summary>
/// SpiceDB's precedence, as its parser builds it (pkg/schemadsl/parser: <c>-</c> outermost, then <c>&amp;</c>, then
/// <c>+</c>; each left-associative): random expressions mixing the three operators, some with parentheses, parse to the
/// same tree as the same expression fully parenthesized by those rules. The parenthesizing is done here independently,
/// by operator-precedence (shunting-yard) reduction, not by the parser under test.
/// </summary>
public sealed class SchemaPrecedenceTests(ITestOutputHelper output)
{
    private static readonly string[] Names = ["a", "b", "c", "d"];
    private static readonly string[] Operators = ["+", "&", "-"];

    [Fact]
    public void RandomExpressions_ParseAsSpiceDbGroupsThem()
    {
        var seed = RandomModel.Seed(output);
        var random = new Random(seed);
        var mixed = 0;
        for (var i = 0; i < 2000; i++)
        {
            var tokens = RandomTokens(random, random.Next(1, 8), nesting: 0);
            var text = string.Join(" ", tokens);
            var expected = FullyParenthesized(tokens);

            var parsed = Render(Parse(text));

            Assert.True(expected == parsed, $"seed {seed}: '{text}' parsed as {parsed}; SpiceDB groups it as {expected}");
            Assert.Equal(parsed, Render(Parse(expected)));
            mixed += tokens.Contains("-") && tokens.Contains("&") && tokens.Contains("+") ? 1 : 0;
        }

        // Expressions with all three operators are the ones precedence decides.
        Assert.True(mixed > 200, $"only {mixed} expressions mixed all three operators");
    }

    [Theory]
    [InlineData("a - b & c", "(a - (b & c))")]
    [InlineData("a & b - c", "((a & b) - c)")]
    [InlineData("a + b & c - d", "(((a + b) & c) - d)")]
    [InlineData("a - b + c & d", "(a - ((b + c) & d))")]
    [InlineData("a - b - c", "((a - b) - c)")]
    [InlineData("a & (b - c)", "(a & (b - c))")]
    public void KnownExpressions_ParseAsSpiceDbGroupsThem(string text, string expected)
    {
        Assert.Equal(expected, FullyParenthesized([.. text.Replace("(", "( ", StringComparison.Ordinal).Replace(")", " )", StringComparison.Ordinal).Split(' ', StringSplitOptions.RemoveEmptyEntries)]));
        Assert.Equal(expected, Render(Parse(text)));
    }

    // Operands separated by operators; now and then a parenthesized sub-expression as an operand.
    private static List<string> RandomTokens(Random random, int operands, int nesting)
    {
        var tokens = new List<string>();
        for (var i = 0; i < operands; i++)
        {
            if (i > 0)
            {
                tokens.Add(Operators[random.Next(Operators.Length)]);
            }

            if (nesting < 2 && random.Next(6) == 0)
            {
                tokens.Add("(");
                tokens.AddRange(RandomTokens(random, random.Next(1, 4), nesting + 1));
                tokens.Add(")");
            }
            else
            {
                tokens.Add(Names[random.Next(Names.Length)]);
            }
        }

        return tokens;
    }

    private static int Precedence(string op) => op switch { "+" => 3, "&" => 2, _ => 1 };

    // Shunting-yard over the tokens, all operators left-associative, building the fully parenthesized text.
    private static string FullyParenthesized(IReadOnlyList<string> tokens)
    {
        var operands = new Stack<string>();
        var operators = new Stack<string>();
        foreach (var token in tokens)
        {
            switch (token)
            {
                case "(":
                    operators.Push(token);
                    break;
                case ")":
                    while (operators.Peek() != "(")
                    {
                        Reduce(operands, operators.Pop());
                    }

                    operators.Pop();
                    break;
                case "+" or "&" or "-":
                    while (operators.Count > 0 && operators.Peek() != "(" && Precedence(operators.Peek()) >= Precedence(token))
                    {
                        Reduce(operands, operators.Pop());
                    }

                    operators.Push(token);
                    break;
                default:
                    operands.Push(token);
                    break;
            }
        }

        while (operators.Count > 0)
        {
            Reduce(operands, operators.Pop());
        }

        return operands.Single();
    }

    private static void Reduce(Stack<string> operands, string op)
    {
        var right = operands.Pop();
        var left = operands.Pop();
        operands.Push($"({left} {op} {right})");
    }

    private static ExpressionSyntax Parse(string expression)
    {
        var document = SchemaParser.Parse($"definition doc {{\n    permission view = {expression}\n}}");
        return ((PermissionSyntax)document.Definitions[0].Members[0]).Expression;
    }

    // The syntax tree as fully parenthesized text: every binary node in parentheses, exactly as written.
    private static string Render(ExpressionSyntax expression) => expression switch
    {
        NameSyntax name => name.Name,
        NilSyntax => "nil",
        ArrowSyntax arrow => $"{arrow.Relation}->{arrow.Target}",
        BinarySyntax binary => new StringBuilder("(").Append(Render(binary.Left)).Append(binary.Operator switch
        {
            SetOperator.Union => " + ",
            SetOperator.Intersection => " & ",
            _ => " - ",
        }).Append(Render(binary.Right)).Append(')').ToString(),
        _ => throw new InvalidOperationException(expression.GetType().Name),
    };
}
