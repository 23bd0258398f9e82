using AuthzGrpc.Core.Schema;

namespace AuthzGrpc.Core.Tests;

/// <summary>Every malformed schema is refused with the line and column of the fault and a message that says what to fix.</summary>
public sealed class SchemaErrorTests
{
    public static TheoryData<string, string, int, int, string> MalformedSchemas => new()
    {
        {
            "second summary rule",
            "definition user {}\ndefinition org {\n    relation owner: user\n    summary by owner\n    summary by owner\n}",
            5, 5, "'org' already has a summary rule"
        },
        {
            "summary rule naming an unknown permission",
            "definition user {}\ndefinition org {\n    relation owner: user\n    summary by ownr\n}",
            4, 16, "ownr"
        },
        {
            "second read rule",
            "definition user {}\ndefinition org {\n    relation owner: user\n    read by owner\n    read by owner\n}",
            5, 5, "'org' already has a read rule"
        },
        {
            "members rule naming an unknown permission",
            "definition user {}\ndefinition org {\n    relation owner: user\n    members by ownr\n}",
            4, 16, "ownr"
        },
        {
            "unknown subject type",
            "definition user {}\ndefinition doc {\n    relation viewer: usr\n}",
            3, 22, "allows subject type 'usr', which is not defined"
        },
        {
            "unknown relation in subject set",
            "definition user {}\ndefinition group {\n    relation member: user\n}\ndefinition doc {\n    relation viewer: group#members\n}",
            6, 22, "'members', which is neither a relation nor a permission of 'group'"
        },
        {
            "unknown name in permission",
            "definition user {}\ndefinition doc {\n    relation viewer: user\n    permission view = viewer + editor\n}",
            4, 32, "refers to 'editor', which is not a relation or permission of 'doc'"
        },
        {
            "arrow over a missing relation",
            "definition user {}\ndefinition doc {\n    relation viewer: user\n    permission view = parent->view\n}",
            4, 23, "walks 'parent', which is not a relation of 'doc'"
        },
        {
            "arrow over a permission",
            "definition user {}\ndefinition doc {\n    relation viewer: user\n    permission can = viewer\n    permission view = can->view\n}",
            5, 23, "the left side of an arrow must be a relation"
        },
        {
            "duplicate definition",
            "definition user {}\ndefinition user {}",
            2, 12, "definition 'user' is already defined at line 1"
        },
        {
            "duplicate member",
            "definition user {}\ndefinition doc {\n    relation viewer: user\n    permission viewer = viewer\n}",
            4, 16, "'viewer' is already defined in 'doc' at line 3"
        },
        {
            "unclosed definition",
            "definition user {}\ndefinition doc {\n    relation viewer: user\n",
            4, 1, "definition 'doc' is never closed"
        },
        {
            "unclosed block comment",
            "definition user {}\n/* a comment\n that never ends",
            2, 1, "block comment is never closed"
        },
        {
            "unexpected character",
            "definition user {}\ndefinition doc {\n    relation viewer: user;\n}",
            3, 26, "unexpected character ';'"
        },
        {
            "uppercase name",
            "definition User {}",
            1, 12, "'User' is not a valid type name: start with a lowercase letter"
        },
        {
            "keyword as name",
            "definition user {}\ndefinition doc {\n    relation permission: user\n}",
            3, 14, "'permission' is a keyword"
        },
        {
            "missing expression",
            "definition user {}\ndefinition doc {\n    relation viewer: user\n    permission view =\n}",
            5, 1, "expected a relation, permission, 'nil' or '(' but found '}'"
        },
        {
            "unbalanced parenthesis",
            "definition user {}\ndefinition doc {\n    relation a: user\n    relation b: user\n    permission view = (a + b\n}",
            6, 1, "expected ')' to close the '(' at line 5, column 23"
        },
        {
            "relation without subject types",
            "definition user {}\ndefinition doc {\n    relation viewer:\n}",
            4, 1, "expected a subject type"
        },
        {
            "wildcard written wrong",
            "definition user {}\ndefinition doc {\n    relation viewer: user:alice\n}",
            3, 27, "expected '*' after 'user:'"
        },
        {
            "chained arrows",
            "definition org { relation admin: user }\ndefinition user {}\ndefinition doc {\n    relation parent: org\n    permission view = parent->admin->x\n}",
            5, 36, "arrows cannot be chained"
        },
        {
            "arrow over a wildcard relation",
            "definition user {}\ndefinition doc {\n    relation parent: user | user:*\n    relation viewer: user\n    permission view = parent->viewer\n}",
            5, 23, "allows a wildcard subject"
        },
        {
            "subject set naming a relation with a wildcard",
            "definition user {}\ndefinition group {\n    relation member: user | user:*\n}\ndefinition doc {\n    relation viewer: user | group#member\n}",
            6, 29, "'group#member' allows the wildcard 'user:*': wildcard relations cannot be transitively included"
        },
        {
            "subject set naming its own relation, which has a wildcard",
            "definition user {}\ndefinition group {\n    relation member: user:* | group#member\n}",
            3, 31, "wildcard relations cannot be transitively included"
        },
        {
            "caveat not defined",
            "definition user {}\ndefinition doc {\n    relation viewer: user with ip_allowed\n}",
            3, 32, "'user with ip_allowed' names caveat 'ip_allowed', which is not defined"
        },
        {
            "caveat not defined, on a subject type before another",
            "use expiration\ndefinition user {}\ndefinition doc {\n    relation viewer: user with ip_allowed and expiration | doc\n}",
            4, 32, "'user with ip_allowed and expiration' names caveat 'ip_allowed', which is not defined"
        },
        {
            "expiring subject type without 'use expiration'",
            "definition user {}\ndefinition doc {\n    relation viewer: user with expiration\n}",
            3, 27, "'user with expiration' needs expiring relationships enabled: add 'use expiration' at the top of the schema"
        },
        {
            "caveat expression naming what is not a parameter, on its second line",
            "caveat only_on_tuesday(day_of_week string) {\n  day_of_week == 'tuesday' && {'a': {'b': \"}\"}}.size() > today\n}\ndefinition user {}",
            2, 58, "caveat 'only_on_tuesday': undeclared reference to 'today'"
        },
        {
            "caveat expression that is not a condition",
            "caveat counted(count int) { count + 1 }\ndefinition user {}",
            1, 29, "caveat 'counted': "
        },
        {
            "caveat parameter of an unknown type",
            "caveat typed(x integer) { x > 1 }\ndefinition user {}",
            1, 14, "parameter 'x' of caveat 'typed': "
        },
        {
            "caveat parameter declared twice",
            "caveat twice(x int, x string) { x > 1 }\ndefinition user {}",
            1, 21, "caveat 'twice' has two parameters named 'x'"
        },
        {
            "caveat and definition of one name",
            "caveat user(x int) { x > 1 }\ndefinition user {}",
            1, 8, "'user' is defined twice: caveats and definitions need names of their own"
        },
        {
            "caveat body never closed",
            "definition user {}\ncaveat open(x int) {\n  x > 1 && {'a': 1}\n",
            2, 20, "the body of this caveat is never closed"
        },
        {
            "caveat with an empty expression",
            "caveat nothing(x int) {  }\ndefinition user {}",
            1, 23, "caveat 'nothing' has no expression"
        },
        {
            "caveat parameter type left open",
            "caveat typed(x list<int) { x.size() > 0 }\ndefinition user {}",
            1, 24, "expected '>' to close the type arguments of 'list'"
        },
        {
            "unknown feature",
            "use caveats\ndefinition user {}",
            1, 5, "'use caveats' is not a feature: the one there is, is 'use expiration'"
        },
        {
            "expiring subject type listed twice",
            "use expiration\ndefinition user {}\ndefinition doc {\n    relation viewer: user with expiration | user | user with expiration\n}",
            4, 52, "subject type 'user with expiration' is listed twice"
        },
        {
            "stray token between members",
            "definition user {}\ndefinition doc {\n    relation viewer: user\n    viewer\n}",
            4, 5, "expected 'relation', 'permission' or a management rule in definition 'doc' but found 'viewer'"
        },
        {
            "subject type listed twice",
            "definition user {}\ndefinition doc {\n    relation viewer: user | user\n}",
            3, 29, "subject type 'user' is listed twice"
        },
        {
            "required object that does not point back",
            "definition user {}\ndefinition project {\n    require one environment#project\n}\ndefinition environment {\n    relation project: user\n}",
            3, 29, "'environment#project' does not point back at 'project' (it allows user); add 'project' to it"
        },
        {
            "intersection arrow without its parenthesis",
            "definition user { relation x: user }\ndefinition doc {\n    relation p: user\n    permission view = p.all x\n}",
            4, 29, "expected '(' and the permission needed after 'p.all'"
        },
        {
            "unknown arrow function",
            "definition user { relation x: user }\ndefinition doc {\n    relation p: user\n    permission view = p.some(x)\n}",
            4, 25, "'some' is not an arrow function: use 'p.any(<permission>)'"
        },
        {
            "arrow function after an arrow",
            "definition user { relation x: user }\ndefinition doc {\n    relation p: user\n    permission view = p->x.any(y)\n}",
            4, 27, "an arrow function is written on the relation, not after the arrow: 'p.any(x)'"
        },
        {
            "arrow function without its parenthesis",
            "definition user { relation x: user }\ndefinition doc {\n    relation p: user\n    permission view = p.any x\n}",
            4, 29, "expected '(' and the permission needed after 'p.any'"
        },
        {
            "chained arrow functions",
            "definition user { relation x: user }\ndefinition doc {\n    relation p: user\n    permission view = p.any(x).any(y)\n}",
            4, 31, "arrows cannot be chained"
        },
        {
            "name too long",
            "definition user {}\ndefinition doc {\n    relation " + new string('v', 65) + ": user\n}",
            3, 14, "at most 64 are allowed"
        },
    };

    // What SpiceDB loads is loaded here too, with a warning at the same place an error would be.
    public static TheoryData<string, string, int, int, string> SchemasLoadedWithAWarning => new()
    {
        {
            "arrow to a member no target type has",
            "definition user {}\ndefinition folder {\n    relation viewer: user\n}\ndefinition doc {\n    relation parent: folder\n    permission view = parent->read\n}",
            7, 31, "never grants: no type that 'parent' allows (folder) has a relation or permission named 'read'"
        },
        {
            "permission with no base case",
            "definition user {}\ndefinition folder {\n    relation parent: folder\n    permission view = parent->view\n}",
            4, 16, "never grants: every way through it comes back to itself"
        },
        {
            "same-object cycle",
            "definition user {}\ndefinition doc {\n    relation viewer: user\n    permission aaa = bbb + viewer\n    permission bbb = aaa\n}",
            4, 16, "refers to itself on the same object (aaa -> bbb -> aaa)"
        },
        {
            "intersection arrow to a member no allowed type has",
            "definition user { relation xxx: user }\ndefinition doc {\n    relation ppp: user\n    permission view = ppp.all(yyy)\n}",
            4, 31, "arrow 'ppp.all(yyy)' in 'doc#view' never grants: no type that 'ppp' allows (user) has a relation or permission named 'yyy'"
        },
    };

    [Theory]
    [MemberData(nameof(SchemasLoadedWithAWarning))]
    public void SchemaSpiceDbLoads_IsLoadedWithAWarningAtItsPosition(string scenario, string schema, int line, int column, string message)
    {
        foreach (var compiled in new[] { CompiledSchema.Compile(schema), CompiledSchema.CompileForWrite(schema) })
        {
            Assert.True(
                compiled.Warnings.Any(w => w.Line == line && w.Column == column && w.Detail.Contains(message, StringComparison.Ordinal)),
                $"{scenario}: no warning at {line}:{column} saying \"{message}\" among: {string.Join("; ", compiled.Warnings)}");
        }
    }

    // SpiceDB refuses names under three characters when a schema is written; one stored before loads with a warning each.
    [Theory]
    [InlineData("definition us {}", 1, 12, "definition name 'us' is shorter than 3 characters")]
    [InlineData("definition ab/user {}", 1, 12, "definition name 'ab/user' is shorter than 3 characters (in each part)")]
    [InlineData("definition user {}\ndefinition doc {\n    relation vw: user\n}", 3, 14, "'vw' in 'doc' is shorter than 3 characters")]
    [InlineData("definition user {}\ndefinition doc {\n    relation viewer: user\n    permission v = viewer\n}", 4, 16, "'v' in 'doc' is shorter than 3 characters")]
    public void NameUnderThreeCharacters_IsRefusedInANewSchema_AndAWarningInAStoredOne(string schema, int line, int column, string message)
    {
        var error = Assert.Throws<SchemaException>(() => CompiledSchema.CompileForWrite(schema));
        Assert.Equal((line, column), (error.Line, error.Column));
        Assert.Contains(message, error.Detail, StringComparison.Ordinal);

        var warning = Assert.Single(CompiledSchema.Compile(schema).Warnings);
        Assert.Equal((line, column), (warning.Line, warning.Column));
        Assert.Contains(message, warning.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(MalformedSchemas))]
    public void MalformedSchema_IsRejectedWithPositionAndFix(string scenario, string schema, int line, int column, string message)
    {
        var error = Assert.Throws<SchemaException>(() => CompiledSchema.Compile(schema));

        Assert.True(error.Line == line && error.Column == column, $"{scenario}: expected {line}:{column}, got {error.Line}:{error.Column} ({error.Detail})");
        Assert.Contains(message, error.Detail, StringComparison.Ordinal);
        Assert.StartsWith($"line {line}, column {column}: ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ValidSchema_WithCommentsWildcardsAndPrefixes_Compiles()
    {
        var schema = CompiledSchema.Compile("""
            // line comment
            /* block
               comment */
            definition acme/user {}
            definition group {
                relation member: acme/user | group#member
            }
            definition doc {
                relation reader: acme/user | acme/user:* | group#member
                relation banned: acme/user
                permission read = reader - banned // trailing comment
                permission none = nil
            }
            """);

        Assert.True(schema.TryGetType("acme/user", out _));
        Assert.True(schema.TryGetType("group", out var group));
        Assert.True(group.TryGetMember("member", out var member));
        Assert.True(((RelationDefinition)member).IsMembershipIndexed);
        Assert.Equal(2, ((RelationDefinition)member).AllowedSubjects.Count);
        Assert.True(schema.RequireType("doc").TryGetMember("reader", out var reader));
        Assert.Contains(((RelationDefinition)reader).AllowedSubjects, s => s.Wildcard);
    }

    [Theory]
    [InlineData("a + b & c", "((a + b) & c)")]
    [InlineData("a & b + c", "(a & (b + c))")]
    [InlineData("a - b - c", "((a - b) - c)")]
    [InlineData("a - b & c", "(a - (b & c))")]
    [InlineData("a & b - c", "((a & b) - c)")]
    [InlineData("a - b + c & a", "(a - ((b + c) & a))")]
    [InlineData("a + (b & c)", "(a + (b & c))")]
    [InlineData("a + b + c", "(a + b + c)")]
    [InlineData("p->x + a", "(p->x + a)")]
    [InlineData("p.any(x) + a", "(p->x + a)")]
    [InlineData("a & p.any(x)", "(a & p->x)")]
    [InlineData("p.all(x) + a", "(p.all(x) + a)")]
    [InlineData("a - p.all(x) & b", "(a - (p.all(x) & b))")]
    public void Operators_FollowSpiceDbPrecedence(string expression, string expected)
    {
        var schema = CompiledSchema.Compile($$"""
            definition user { relation x: user }
            definition doc {
                relation a: user
                relation b: user
                relation c: user
                relation p: user
                permission view = {{expression}}
            }
            """);

        Assert.True(schema.TryGetType("doc", out var doc));
        Assert.True(doc.TryGetMember("view", out var view));
        Assert.Equal(expected, ((PermissionDefinition)view).Plan.ToString());
    }
}
