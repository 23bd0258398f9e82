namespace AuthzGrpc.Core.Schema;

/// <summary>Resolves and checks a definition's management rules.</summary>
internal static class RuleCompiler
{
    public static ManagementRules Compile(DefinitionSyntax definition, TypeDefinition type, IReadOnlyList<TypeDefinition> types)
    {
        if (definition.Rules.Count == 0)
        {
            return ManagementRules.None;
        }

        var grant = new Dictionary<RelationDefinition, List<AccessRule>>();
        var revoke = new Dictionary<RelationDefinition, List<AccessRule>>();
        var single = new HashSet<RelationDefinition>();
        var match = new Dictionary<RelationDefinition, MatchRule>();
        var minimum = new Dictionary<RelationDefinition, int>();
        var transfer = new Dictionary<RelationDefinition, MemberDefinition>();
        var unique = new HashSet<RelationDefinition>();
        var uniqueWhen = new Dictionary<RelationDefinition, RelationDefinition>();
        var immutable = new Dictionary<RelationDefinition, RelationDefinition?>();
        var exclusive = new List<IReadOnlySet<RelationDefinition>>();
        RelationDefinition? baseRelation = null;
        RelationDefinition? parent = null;
        CreateRule? create = null;
        MemberDefinition? delete = null;
        MemberDefinition? audit = null;
        MemberDefinition? keys = null;
        MemberDefinition? summary = null;
        MemberDefinition? invite = null;
        MemberDefinition? read = null;
        MemberDefinition? members = null;
        MemberDefinition? leaveBy = null;
        var required = new List<RequireRule>();
        foreach (var rule in definition.Rules)
        {
            var keyword = rule.Kind.ToString().ToLowerInvariant();

            // A require rule names a relation of another type, resolved by CompileRequire.
            var relations = rule.Kind == RuleKind.Require ? [] : rule.Relations.Select(r => Relation(type, r, keyword)).ToList();
            // A match rule's name is a relation of the subject's type (or this one's), resolved by CompileMatch.
            var by = rule.By is null || rule.Kind == RuleKind.Match ? null : Member(type, rule.By, keyword);
            switch (rule.Kind)
            {
                case RuleKind.Grant or RuleKind.Revoke or RuleKind.Manage:
                    var holdingName = rule.HoldingName is null ? null : Member(type, rule.HoldingName, "holding");
                    var to = rule.To is null ? null : Member(type, rule.To, "to");
                    var unless = rule.Unless is null ? null : Member(type, rule.Unless, "unless");
                    for (var i = 0; i < relations.Count; i++)
                    {
                        if (rule.Kind != RuleKind.Revoke)
                        {
                            var holding = rule.Holding ? holdingName ?? relations[i] : null;
                            AddRule(grant, relations[i], new AccessRule(by!, holding, rule.ExceptSelf, to, unless), rule.Relations[i], "grant");
                        }

                        if (rule.Kind != RuleKind.Grant)
                        {
                            AddRule(revoke, relations[i], new AccessRule(by!, null, rule.ExceptSelf, to, unless), rule.Relations[i], "revoke");
                        }
                    }

                    break;
                case RuleKind.Exclusive:
                    exclusive.Add(relations.ToHashSet());
                    break;
                case RuleKind.Single:
                    foreach (var (relation, name) in relations.Zip(rule.Relations))
                    {
                        if (!single.Add(relation))
                        {
                            throw Error(name.Position, $"'{relation.Name}' is already single");
                        }
                    }

                    break;
                case RuleKind.Match:
                    Add(match, relations[0], CompileMatch(type, relations[0], rule), rule.Relations[0], "a match rule");
                    break;
                case RuleKind.Parent:
                    if (parent is not null)
                    {
                        throw Error(rule.Position, $"'{type.Name}' already has a parent ('{parent.Name}'): an object belongs to one parent");
                    }

                    parent = relations[0];
                    break;
                case RuleKind.Create:
                    if (create is not null)
                    {
                        throw Error(rule.Position, $"'{type.Name}' already has a create rule");
                    }

                    if (!relations[0].AllowedSubjects.Any(s => s.Type.TryGetMember(rule.ByTarget!.Name, out _)))
                    {
                        throw Error(rule.ByTarget!.Position, $"'create by {relations[0].Name}->{rule.ByTarget.Name}': no type that '{relations[0].Name}' allows has '{rule.ByTarget.Name}'");
                    }

                    create = new CreateRule(relations[0], rule.ByTarget!.Name);
                    break;
                case RuleKind.Delete:
                    delete = Once(delete, by!, type, rule, "a delete rule");
                    break;
                case RuleKind.Audit:
                    audit = Once(audit, by!, type, rule, "an audit rule");
                    break;
                case RuleKind.Keys:
                    keys = Once(keys, by!, type, rule, "a keys rule");
                    break;
                case RuleKind.Summary:
                    summary = Once(summary, by!, type, rule, "a summary rule");
                    break;
                case RuleKind.Invite:
                    invite = Once(invite, by!, type, rule, "an invite rule");
                    break;
                case RuleKind.Read:
                    read = Once(read, by!, type, rule, "a read rule");
                    break;
                case RuleKind.Members:
                    members = Once(members, by!, type, rule, "a members rule");
                    break;
                case RuleKind.Minimum:
                    Add(minimum, relations[0], rule.Count, rule.Relations[0], "a minimum");
                    break;
                case RuleKind.Base:
                    if (baseRelation is not null)
                    {
                        throw Error(rule.Position, $"'{type.Name}' already has a base membership ('{baseRelation.Name}'): a definition has at most one");
                    }

                    if (!relations[0].AllowedSubjects.Any(s => s.Relation is null && !s.Wildcard))
                    {
                        throw Error(rule.Relations[0].Position, $"base membership '{relations[0]}' must allow a plain subject type such as 'user'");
                    }

                    baseRelation = relations[0];
                    break;
                case RuleKind.Leave:
                    if (leaveBy is not null)
                    {
                        throw Error(rule.Position, $"'{type.Name}' already has a leave rule");
                    }

                    leaveBy = by;
                    break;
                case RuleKind.Transfer:
                    Add(transfer, relations[0], by!, rule.Relations[0], "a transfer rule");
                    break;
                case RuleKind.Unique:
                    if (unique.Contains(relations[0]) || uniqueWhen.ContainsKey(relations[0]))
                    {
                        throw Error(rule.Relations[0].Position, $"'{relations[0].Name}' is already unique");
                    }

                    if (rule.When is null)
                    {
                        unique.Add(relations[0]);
                    }
                    else
                    {
                        uniqueWhen.Add(relations[0], Relation(type, rule.When, "unique ... when"));
                    }

                    break;
                case RuleKind.Require:
                    var requirement = CompileRequire(type, types, rule);
                    if (required.Contains(requirement))
                    {
                        throw Error(rule.Position, $"'{type.Name}' already requires one {requirement.Mark.Owner.Name}#{requirement.Mark.Name}");
                    }

                    required.Add(requirement);
                    break;
                case RuleKind.Immutable:
                    Add(immutable, relations[0], rule.When is null ? null : Relation(type, rule.When, "immutable ... when"), rule.Relations[0], "an immutable rule");
                    break;
            }
        }

        if (leaveBy is not null && baseRelation is null)
        {
            throw Error(definition.Rules.First(r => r.Kind == RuleKind.Leave).Position, $"'leave' needs a base membership to leave: add 'base <relation>' to '{type.Name}'");
        }

        return new ManagementRules
        {
            Grant = grant.ToDictionary(r => r.Key, r => (IReadOnlyList<AccessRule>)r.Value),
            Revoke = revoke.ToDictionary(r => r.Key, r => (IReadOnlyList<AccessRule>)r.Value),
            Single = single,
            Match = match,
            Minimum = minimum,
            Base = baseRelation,
            LeaveBy = leaveBy,
            Transfer = transfer,
            Unique = unique,
            UniqueWhen = uniqueWhen,
            Immutable = immutable,
            Exclusive = exclusive,
            Parent = parent,
            Create = create,
            Delete = delete,
            Audit = audit,
            Keys = keys,
            Summary = summary,
            Invite = invite,
            Read = read,
            Members = members,
            Require = required,
        };
    }

    // The rules a definition declares at most once, each naming the permission it needs.
    private static MemberDefinition Once(MemberDefinition? declared, MemberDefinition by, TypeDefinition type, RuleSyntax rule, string what) =>
        declared is null ? by : throw Error(rule.Position, $"'{type.Name}' already has {what}");

    // 'require one t#r': t is a type, r one of its relations (not a permission), and r admits this type as a plain
    // object, so that an object of t can point back at this one.
    private static RequireRule CompileRequire(TypeDefinition type, IReadOnlyList<TypeDefinition> types, RuleSyntax rule)
    {
        var typeName = rule.RequiredType!;
        var relationName = rule.Relations[0];
        var text = $"require one {typeName.Name}#{relationName.Name}";
        var required = types.FirstOrDefault(t => t.Name == typeName.Name)
            ?? throw Error(typeName.Position, $"'{text}' names '{typeName.Name}', which is not a definition");
        if (!required.TryGetMember(relationName.Name, out var member))
        {
            throw Error(relationName.Position, $"'{text}': '{required.Name}' has no relation '{relationName.Name}'");
        }

        if (member is not RelationDefinition relation)
        {
            throw Error(relationName.Position, $"'{text}': '{relationName.Name}' is a permission of '{required.Name}'; the required object is marked by a relation");
        }

        if (!relation.Allows(type, null, wildcard: false))
        {
            throw Error(relationName.Position, $"'{text}': '{required.Name}#{relation.Name}' does not point back at '{type.Name}' (it allows {string.Join(", ", relation.AllowedSubjects.Select(s => s.ToString()))}); add '{type.Name}' to it");
        }

        return new RequireRule(relation);
    }

    // Several rules may govern one relation (different authorities for different subjects), but not the same one twice.
    private static void AddRule(Dictionary<RelationDefinition, List<AccessRule>> rules, RelationDefinition relation, AccessRule rule, NameSyntax at, string what)
    {
        if (!rules.TryGetValue(relation, out var list))
        {
            rules[relation] = list = [];
        }

        if (list.Contains(rule))
        {
            throw Error(at.Position, $"'{relation.Name}' already has this {what} rule in '{relation.Owner.Name}'");
        }

        if (list.Count > 0 && rule.To is null && rule.Unless is null && list.Any(r => r.To is null && r.Unless is null))
        {
            throw Error(at.Position, $"'{relation.Name}' already has a {what} rule for every subject in '{relation.Owner.Name}': a second one needs 'to' or 'unless' to say which subjects it is for");
        }

        list.Add(rule);
    }

    // by/within: the other relation must exist on every object type the relation admits; within/as: on this type too.
    private static MatchRule CompileMatch(TypeDefinition type, RelationDefinition relation, RuleSyntax rule)
    {
        var mode = rule.MatchMode switch
        {
            "by" => MatchMode.By,
            "within" => MatchMode.Within,
            _ => MatchMode.As,
        };
        var other = rule.By!;
        if (mode != MatchMode.As && relation.AllowedSubjects.Select(s => s.Type).FirstOrDefault(t => !t.TryGetMember(other.Name, out var m) || m is not RelationDefinition) is { } lacking)
        {
            throw Error(other.Position, $"'match {relation.Name} {rule.MatchMode} {other.Name}': '{lacking.Name}', which '{relation.Name}' allows, has no relation '{other.Name}'");
        }

        if (mode != MatchMode.By)
        {
            Relation(type, other, $"match ... {rule.MatchMode}");
        }

        return new MatchRule(mode, other.Name);
    }

    private static void Add<T>(Dictionary<RelationDefinition, T> rules, RelationDefinition relation, T value, NameSyntax at, string what)
    {
        if (!rules.TryAdd(relation, value))
        {
            throw Error(at.Position, $"'{relation.Name}' already has {what} in '{relation.Owner.Name}': give each relation one");
        }
    }

    private static RelationDefinition Relation(TypeDefinition type, NameSyntax name, string rule)
    {
        var member = Member(type, name, rule);
        return member as RelationDefinition
            ?? throw Error(name.Position, $"'{rule}' names '{name.Name}', a permission of '{type.Name}': management rules govern relations");
    }

    private static MemberDefinition Member(TypeDefinition type, NameSyntax name, string rule) =>
        type.TryGetMember(name.Name, out var member)
            ? member
            : throw Error(name.Position, $"'{rule}' names '{name.Name}', which is not a relation or permission of '{type.Name}'");

    private static SchemaException Error(SourcePosition position, string detail) => new(position.Line, position.Column, detail);
}
