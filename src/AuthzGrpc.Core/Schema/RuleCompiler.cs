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

        var builder = new RulesBuilder(type, types);
        foreach (var rule in definition.Rules)
        {
            builder.Add(rule);
        }

        return builder.Build();
    }

    /// <summary>
    /// Collects one definition's rules in declaration order, so that each error is raised at the first rule that
    /// breaks a constraint, then checks what only the whole set can show.
    /// </summary>
    private sealed class RulesBuilder(TypeDefinition type, IReadOnlyList<TypeDefinition> types)
    {
        private readonly Dictionary<RelationDefinition, List<AccessRule>> _grant = [];
        private readonly Dictionary<RelationDefinition, List<AccessRule>> _revoke = [];
        private readonly HashSet<RelationDefinition> _single = [];
        private readonly Dictionary<RelationDefinition, MatchRule> _match = [];
        private readonly Dictionary<RelationDefinition, int> _minimum = [];
        private readonly Dictionary<RelationDefinition, MemberDefinition> _transfer = [];
        private readonly HashSet<RelationDefinition> _unique = [];
        private readonly Dictionary<RelationDefinition, RelationDefinition> _uniqueWhen = [];
        private readonly Dictionary<RelationDefinition, RelationDefinition?> _immutable = [];
        private readonly List<IReadOnlySet<RelationDefinition>> _exclusive = [];
        private readonly List<RequireRule> _required = [];

        // The rules that only name the permission an operation needs (delete by p, audit by p, ...), one of each kind.
        private readonly Dictionary<RuleKind, MemberDefinition> _operations = [];
        private RelationDefinition? _base;
        private RelationDefinition? _parent;
        private CreateRule? _create;
        private RuleSyntax? _leave;
        private MemberDefinition? _leaveBy;

        public void Add(RuleSyntax rule)
        {
            var keyword = rule.Kind.ToString().ToLowerInvariant();

            // A require rule names a relation of another type, resolved by AddRequire.
            var relations = rule.Kind == RuleKind.Require ? [] : rule.Relations.Select(r => Relation(r, keyword)).ToList();
            // A match rule's name is a relation of the subject's type (or this one's), resolved by CompileMatch.
            var by = rule.By is null || rule.Kind == RuleKind.Match ? null : Member(rule.By, keyword);
            switch (rule.Kind)
            {
                case RuleKind.Grant or RuleKind.Revoke or RuleKind.Manage:
                    AddAccess(rule, relations, by!);
                    break;
                case RuleKind.Exclusive:
                    _exclusive.Add(relations.ToHashSet());
                    break;
                case RuleKind.Single:
                    AddSingle(rule, relations);
                    break;
                case RuleKind.Match:
                    AddOnce(_match, relations[0], CompileMatch(relations[0], rule), rule.Relations[0], "a match rule");
                    break;
                case RuleKind.Parent:
                    SetParent(rule, relations[0]);
                    break;
                case RuleKind.Create:
                    SetCreate(rule, relations[0]);
                    break;
                case RuleKind.Delete or RuleKind.Audit or RuleKind.Keys or RuleKind.Summary or RuleKind.Invite or RuleKind.Read or RuleKind.Members:
                    SetOperation(rule, keyword, by!);
                    break;
                case RuleKind.Minimum:
                    AddOnce(_minimum, relations[0], rule.Count, rule.Relations[0], "a minimum");
                    break;
                case RuleKind.Base:
                    SetBase(rule, relations[0]);
                    break;
                case RuleKind.Leave:
                    SetLeave(rule, by!);
                    break;
                case RuleKind.Transfer:
                    AddOnce(_transfer, relations[0], by!, rule.Relations[0], "a transfer rule");
                    break;
                case RuleKind.Unique:
                    AddUnique(rule, relations[0]);
                    break;
                case RuleKind.Require:
                    AddRequire(rule);
                    break;
                case RuleKind.Immutable:
                    AddOnce(_immutable, relations[0], rule.When is null ? null : Relation(rule.When, "immutable ... when"), rule.Relations[0], "an immutable rule");
                    break;
            }
        }

        public ManagementRules Build()
        {
            if (_leave is not null && _base is null)
            {
                throw Error(_leave.Position, $"'leave' needs a base membership to leave: add 'base <relation>' to '{type.Name}'");
            }

            return new ManagementRules
            {
                Grant = _grant.ToDictionary(r => r.Key, r => (IReadOnlyList<AccessRule>)r.Value),
                Revoke = _revoke.ToDictionary(r => r.Key, r => (IReadOnlyList<AccessRule>)r.Value),
                Single = _single,
                Match = _match,
                Minimum = _minimum,
                Base = _base,
                LeaveBy = _leaveBy,
                Transfer = _transfer,
                Unique = _unique,
                UniqueWhen = _uniqueWhen,
                Immutable = _immutable,
                Exclusive = _exclusive,
                Parent = _parent,
                Create = _create,
                Delete = _operations.GetValueOrDefault(RuleKind.Delete),
                Audit = _operations.GetValueOrDefault(RuleKind.Audit),
                Keys = _operations.GetValueOrDefault(RuleKind.Keys),
                Summary = _operations.GetValueOrDefault(RuleKind.Summary),
                Invite = _operations.GetValueOrDefault(RuleKind.Invite),
                Read = _operations.GetValueOrDefault(RuleKind.Read),
                Members = _operations.GetValueOrDefault(RuleKind.Members),
                Require = _required,
            };
        }

        // grant/revoke/manage r1, r2 by p: manage is a grant and a revoke rule for each relation.
        private void AddAccess(RuleSyntax rule, List<RelationDefinition> relations, MemberDefinition by)
        {
            var holdingName = rule.HoldingName is null ? null : Member(rule.HoldingName, "holding");
            var to = rule.To is null ? null : Member(rule.To, "to");
            var unless = rule.Unless is null ? null : Member(rule.Unless, "unless");
            for (var i = 0; i < relations.Count; i++)
            {
                if (rule.Kind != RuleKind.Revoke)
                {
                    var holding = rule.Holding ? holdingName ?? relations[i] : null;
                    AddAccessRule(_grant, relations[i], new AccessRule(by, holding, rule.ExceptSelf, to, unless), rule.Relations[i], "grant");
                }

                if (rule.Kind != RuleKind.Grant)
                {
                    AddAccessRule(_revoke, relations[i], new AccessRule(by, null, rule.ExceptSelf, to, unless), rule.Relations[i], "revoke");
                }
            }
        }

        private void AddSingle(RuleSyntax rule, List<RelationDefinition> relations)
        {
            foreach (var (relation, name) in relations.Zip(rule.Relations))
            {
                if (!_single.Add(relation))
                {
                    throw Error(name.Position, $"'{relation.Name}' is already single");
                }
            }
        }

        private void SetParent(RuleSyntax rule, RelationDefinition relation)
        {
            if (_parent is not null)
            {
                throw Error(rule.Position, $"'{type.Name}' already has a parent ('{_parent.Name}'): an object belongs to one parent");
            }

            _parent = relation;
        }

        // create by under->permission: some type that 'under' allows must have the permission, or nobody could create.
        private void SetCreate(RuleSyntax rule, RelationDefinition under)
        {
            if (_create is not null)
            {
                throw Error(rule.Position, $"'{type.Name}' already has a create rule");
            }

            var permission = rule.ByTarget!;
            if (!under.AllowedSubjects.Any(s => s.Type.TryGetMember(permission.Name, out _)))
            {
                throw Error(permission.Position, $"'create by {under.Name}->{permission.Name}': no type that '{under.Name}' allows has '{permission.Name}'");
            }

            _create = new CreateRule(under, permission.Name);
        }

        // The rules a definition declares at most once, each naming the permission it needs.
        private void SetOperation(RuleSyntax rule, string keyword, MemberDefinition by)
        {
            if (!_operations.TryAdd(rule.Kind, by))
            {
                var article = rule.Kind is RuleKind.Audit or RuleKind.Invite ? "an" : "a";
                throw Error(rule.Position, $"'{type.Name}' already has {article} {keyword} rule");
            }
        }

        // The base membership is what 'leave' removes, so it must hold plain subjects.
        private void SetBase(RuleSyntax rule, RelationDefinition relation)
        {
            if (_base is not null)
            {
                throw Error(rule.Position, $"'{type.Name}' already has a base membership ('{_base.Name}'): a definition has at most one");
            }

            if (!relation.AllowedSubjects.Any(s => s.Relation is null && !s.Wildcard))
            {
                throw Error(rule.Relations[0].Position, $"base membership '{relation}' must allow a plain subject type such as 'user'");
            }

            _base = relation;
        }

        // Whether a base membership exists is known only once every rule is read: Build checks it.
        private void SetLeave(RuleSyntax rule, MemberDefinition by)
        {
            if (_leave is not null)
            {
                throw Error(rule.Position, $"'{type.Name}' already has a leave rule");
            }

            _leave = rule;
            _leaveBy = by;
        }

        private void AddUnique(RuleSyntax rule, RelationDefinition relation)
        {
            if (_unique.Contains(relation) || _uniqueWhen.ContainsKey(relation))
            {
                throw Error(rule.Relations[0].Position, $"'{relation.Name}' is already unique");
            }

            if (rule.When is null)
            {
                _unique.Add(relation);
            }
            else
            {
                _uniqueWhen.Add(relation, Relation(rule.When, "unique ... when"));
            }
        }

        private void AddRequire(RuleSyntax rule)
        {
            var requirement = CompileRequire(rule);
            if (_required.Contains(requirement))
            {
                throw Error(rule.Position, $"'{type.Name}' already requires one {requirement.Mark.Owner.Name}#{requirement.Mark.Name}");
            }

            _required.Add(requirement);
        }

        // 'require one t#r': t is a type, r one of its relations (not a permission), and r admits this type as a plain
        // object, so that an object of t can point back at this one.
        private RequireRule CompileRequire(RuleSyntax rule)
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

        // by/within: the other relation must exist on every object type the relation admits; within/as: on this type too.
        private MatchRule CompileMatch(RelationDefinition relation, RuleSyntax rule)
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
                Relation(other, $"match ... {rule.MatchMode}");
            }

            return new MatchRule(mode, other.Name);
        }

        private RelationDefinition Relation(NameSyntax name, string rule)
        {
            var member = Member(name, rule);
            return member as RelationDefinition
                ?? throw Error(name.Position, $"'{rule}' names '{name.Name}', a permission of '{type.Name}': management rules govern relations");
        }

        private MemberDefinition Member(NameSyntax name, string rule) =>
            type.TryGetMember(name.Name, out var member)
                ? member
                : throw Error(name.Position, $"'{rule}' names '{name.Name}', which is not a relation or permission of '{type.Name}'");
    }

    // Several rules may govern one relation (different authorities for different subjects), but not the same one twice.
    private static void AddAccessRule(Dictionary<RelationDefinition, List<AccessRule>> rules, RelationDefinition relation, AccessRule rule, NameSyntax at, string what)
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

    // The rules that give a relation one value (a minimum, a transfer authority, ...): a second would contradict the first.
    private static void AddOnce<T>(Dictionary<RelationDefinition, T> rules, RelationDefinition relation, T value, NameSyntax at, string what)
    {
        if (!rules.TryAdd(relation, value))
        {
            throw Error(at.Position, $"'{relation.Name}' already has {what} in '{relation.Owner.Name}': give each relation one");
        }
    }

    private static SchemaException Error(SourcePosition position, string detail) => new(position.Line, position.Column, detail);
}
