using AuthzGrpc.Core.Schema;

namespace AuthzGrpc.Core.Tests;

/// <summary>
/// SpiceDB's caveat syntax parses: the definition with its typed parameters, the CEL expression kept whole (braces and
/// quotes of its own inside), and the traits on subject types in either order.
/// </summary>
public sealed class CaveatSyntaxTests
{
    [Fact]
    public void CaveatDefinitionsAndTraits_ParseAsWritten()
    {
        const string Text = """
            use expiration
            caveat has_valid_ip(user_ip ipaddress, allowed_range string) {
              user_ip.in_cidr(allowed_range)
            }
            caveat attributes_match(expected map<any>, provided map<list<string>>) {
              expected.all(x, expected[x] == provided[x]) && {"}": '{'}.size() == 1 // a } in a comment
            }
            definition user {}
            definition doc {
                relation viewer: user with has_valid_ip | user with expiration and attributes_match | doc#viewer with attributes_match and expiration
            }
            """;

        var document = SchemaParser.Parse(Text);

        Assert.Equal(["has_valid_ip", "attributes_match"], document.Caveats.Select(c => c.Name));
        var ip = document.Caveats[0];
        Assert.Equal([("user_ip", "ipaddress"), ("allowed_range", "string")], ip.Parameters.Select(p => (p.Name, p.Type)));
        Assert.Equal("user_ip.in_cidr(allowed_range)", ip.Expression.Trim());
        Assert.Equal(new SourcePosition(2, 63), ip.ExpressionPosition);
        var match = document.Caveats[1];
        Assert.Equal(["map<any>", "map<list<string>>"], match.Parameters.Select(p => p.Type));
        Assert.Contains("// a } in a comment", match.Expression, StringComparison.Ordinal);
        var viewer = Assert.IsType<RelationSyntax>(Assert.Single(document.Definitions[1].Members));
        Assert.Equal(
            ["user with has_valid_ip", "user with attributes_match and expiration", "doc#viewer with attributes_match and expiration"],
            viewer.SubjectTypes.Select(s => s.ToString()));
    }
}
