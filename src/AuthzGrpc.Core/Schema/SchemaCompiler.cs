using AuthzGrpc.Core.Caveats;

namespace AuthzGrpc.Core.Schema;

/// <summary>Resolves names, checks the schema's rules and builds the plans.</summary>
internal static class SchemaCompiler
{
    /// <summary>
    /// Compiles <paramref name="text"/>. What SpiceDB loads but can never grant, or grants only by our least fixpoint,
    /// is a warning, not an error; with <paramref name="forWrite"/> (a schema being written now, not one already
    /// stored), what SpiceDB refuses at write — names under three characters — is an error too.
    /// </summary>
    public static CompiledSchema Compile(string text, bool forWrite = false)
    {
        var document = SchemaParser.Parse(text);
        var warnings = new List<SchemaWarning>();
        CheckNameLengths(document, forWrite, warnings);
        var types = DeclareTypes(document);
        var caveats = CompileCaveats(document);
        var members = DeclareMembers(document, types);
        ResolveSubjectTypes(document, types, members, caveats);
        RejectTransitiveWildcards(document, members);
        CompilePermissions(document, types, members, warnings);
        WarnUngroundedPermissions(types, warnings);
        WarnSameObjectCycles(types, warnings);
        MarkMembershipIndexedRelations(types);
        for (var t = 0; t < types.Count; t++)
        {
            types[t].Rules = RuleCompiler.Compile(document.Definitions[t], types[t], types);
        }

        warnings.Sort((a, b) => a.Line != b.Line ? a.Line.CompareTo(b.Line) : a.Column.CompareTo(b.Column));
        return new CompiledSchema(text, document, types, caveats, warnings);
    }

    // Each caveat's parameters typed and its expression compiled; a CEL error is reported at its place in the schema.
    private static Dictionary<string, CompiledCaveat> CompileCaveats(SchemaDocument document)
    {
        var caveats = new Dictionary<string, CompiledCaveat>(StringComparer.Ordinal);
        var definitions = document.Definitions.Select(d => d.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var caveat in document.Caveats)
        {
            if (caveats.ContainsKey(caveat.Name) || definitions.Contains(caveat.Name))
            {
                throw Error(caveat.Position, $"'{caveat.Name}' is defined twice: caveats and definitions need names of their own");
            }

            var parameters = new List<CaveatParameter>();
            foreach (var parameter in caveat.Parameters)
            {
                if (parameters.Any(p => p.Name == parameter.Name))
                {
                    throw Error(parameter.Position, $"caveat '{caveat.Name}' has two parameters named '{parameter.Name}'");
                }

                try
                {
                    parameters.Add(new CaveatParameter(parameter.Name, CaveatType.Parse(parameter.Type)));
                }
                catch (CaveatException e)
                {
                    throw Error(parameter.Position, $"parameter '{parameter.Name}' of caveat '{caveat.Name}': {e.Message}");
                }
            }

            try
            {
                caveats.Add(caveat.Name, CompiledCaveat.Compile(caveat.Name, parameters, caveat.Expression));
            }
            catch (CaveatException e)
            {
                // The expression's own position (1-based within it) moved to where the expression starts in the schema.
                var start = caveat.ExpressionPosition;
                var at = e.Line <= 1 ? new SourcePosition(start.Line, start.Column + Math.Max(e.Column, 1) - 1) : new SourcePosition(start.Line + e.Line - 1, e.Column);
                throw Error(e.Line == 0 ? caveat.Position : at, e.Message);
            }
        }

        return caveats;
    }

    // SpiceDB's names are 3 to 64 characters (each segment of a prefixed definition name too); it refuses shorter ones
    // when a schema is written. A schema stored before this rule still loads, with a warning for each.
    private const int MinimumNameLength = 3;

    private static void CheckNameLengths(SchemaDocument document, bool forWrite, List<SchemaWarning> warnings)
    {
        foreach (var definition in document.Definitions)
        {
            if (definition.Name.Split('/').Any(segment => segment.Length < MinimumNameLength))
            {
                Report(definition.Position, $"definition name '{definition.Name}' is shorter than {MinimumNameLength} characters (in each part), which SpiceDB refuses: rename it");
            }

            foreach (var member in definition.Members.Where(m => m.Name.Length < MinimumNameLength))
            {
                Report(member.Position, $"'{member.Name}' in '{definition.Name}' is shorter than {MinimumNameLength} characters, which SpiceDB refuses: rename it");
            }
        }

        void Report(SourcePosition position, string detail)
        {
            if (forWrite)
            {
                throw Error(position, detail);
            }

            warnings.Add(new SchemaWarning(position.Line, position.Column, detail));
        }
    }

    private static List<TypeDefinition> DeclareTypes(SchemaDocument document)
    {
        var types = new List<TypeDefinition>();
        var seen = new Dictionary<string, DefinitionSyntax>(StringComparer.Ordinal);
        foreach (var definition in document.Definitions)
        {
            if (seen.TryGetValue(definition.Name, out var first))
            {
                throw Error(definition.Position, $"definition '{definition.Name}' is already defined at line {first.Position.Line}: rename or merge one of them");
            }

            seen.Add(definition.Name, definition);
            types.Add(new TypeDefinition(definition.Name, types.Count));
        }

        return types;
    }

    private static Dictionary<MemberSyntax, MemberDefinition> DeclareMembers(SchemaDocument document, List<TypeDefinition> types)
    {
        var result = new Dictionary<MemberSyntax, MemberDefinition>(ReferenceEqualityComparer.Instance);
        for (var t = 0; t < types.Count; t++)
        {
            var type = types[t];
            var list = new List<MemberDefinition>();
            var seen = new Dictionary<string, MemberSyntax>(StringComparer.Ordinal);
            foreach (var member in document.Definitions[t].Members)
            {
                if (seen.TryGetValue(member.Name, out var first))
                {
                    throw Error(member.Position, $"'{member.Name}' is already defined in '{type.Name}' at line {first.Position.Line}: relations and permissions of a definition need distinct names");
                }

                seen.Add(member.Name, member);
                MemberDefinition definition = member is RelationSyntax
                    ? new RelationDefinition(type, member.Name, list.Count, member.Position)
                    : new PermissionDefinition(type, member.Name, list.Count, member.Position);
                list.Add(definition);
                result.Add(member, definition);
            }

            type.SetMembers(list);
        }

        return result;
    }

    private static void ResolveSubjectTypes(
        SchemaDocument document, List<TypeDefinition> types, Dictionary<MemberSyntax, MemberDefinition> members, Dictionary<string, CompiledCaveat> caveats)
    {
        var byName = types.ToDictionary(t => t.Name, StringComparer.Ordinal);
        foreach (var definition in document.Definitions)
        {
            foreach (var relationSyntax in definition.Members.OfType<RelationSyntax>())
            {
                var relation = (RelationDefinition)members[relationSyntax];
                var allowed = new List<AllowedSubject>();
                foreach (var subject in relationSyntax.SubjectTypes)
                {
                    if (!byName.TryGetValue(subject.Type, out var subjectType))
                    {
                        throw Error(subject.Position, $"relation '{relation}' allows subject type '{subject.Type}', which is not defined: add 'definition {subject.Type} {{}}' or fix the name");
                    }

                    MemberDefinition? subjectRelation = null;
                    if (subject.Relation is not null && !subjectType.TryGetMember(subject.Relation, out subjectRelation))
                    {
                        throw Error(subject.Position, $"'{subject}' names '{subject.Relation}', which is neither a relation nor a permission of '{subject.Type}'");
                    }

                    CompiledCaveat? caveat = null;
                    if (subject.Caveat is not null && !caveats.TryGetValue(subject.Caveat, out caveat))
                    {
                        throw Error(subject.CaveatPosition!.Value, $"'{subject}' names caveat '{subject.Caveat}', which is not defined: add 'caveat {subject.Caveat}(...) {{ ... }}' or fix the name");
                    }

                    if (subject.WithExpiration is { } with && document.UseExpiration is null)
                    {
                        throw Error(with, $"'{subject}' needs expiring relationships enabled: add 'use expiration' at the top of the schema");
                    }

                    var entry = new AllowedSubject(subjectType, subjectRelation, subject.Wildcard, subject.WithExpiration is not null, caveat);
                    if (allowed.Contains(entry))
                    {
                        throw Error(subject.Position, $"subject type '{subject}' is listed twice in relation '{relation}'");
                    }

                    allowed.Add(entry);
                }

                relation.AllowedSubjects = allowed;
            }
        }
    }

    // SpiceDB refuses a subject set naming a relation that admits a wildcard: 'viewer: group#member' with
    // 'member: user:*' would make every user a viewer through any one group, which is easy to write by
    // accident. Refusing it here too keeps a schema meaning the same in both. A permission is not checked:
    // SpiceDB accepts a subject set naming a permission whatever it expands to.
    private static void RejectTransitiveWildcards(SchemaDocument document, Dictionary<MemberSyntax, MemberDefinition> members)
    {
        foreach (var relationSyntax in document.Definitions.SelectMany(d => d.Members).OfType<RelationSyntax>())
        {
            var relation = (RelationDefinition)members[relationSyntax];
            for (var i = 0; i < relationSyntax.SubjectTypes.Count; i++)
            {
                if (relation.AllowedSubjects[i].Relation is RelationDefinition named && named.AllowedSubjects.Any(s => s.Wildcard))
                {
                    var subject = relationSyntax.SubjectTypes[i];
                    var wildcard = named.AllowedSubjects.First(s => s.Wildcard);
                    throw Error(subject.Position, $"relation '{relation}' allows '{subject}', and '{named}' allows the wildcard '{wildcard}': wildcard relations cannot be transitively included (name a permission over '{named.Name}' instead, or remove the wildcard)");
                }
            }
        }
    }

    private static void CompilePermissions(
        SchemaDocument document, List<TypeDefinition> types, Dictionary<MemberSyntax, MemberDefinition> members, List<SchemaWarning> warnings)
    {
        for (var t = 0; t < types.Count; t++)
        {
            foreach (var permissionSyntax in document.Definitions[t].Members.OfType<PermissionSyntax>())
            {
                var permission = (PermissionDefinition)members[permissionSyntax];
                permission.Plan = CompileExpression(permissionSyntax.Expression, types[t], permission, types.Count, warnings);
            }
        }
    }

    private static PlanNode CompileExpression(
        ExpressionSyntax expression, TypeDefinition type, PermissionDefinition permission, int typeCount, List<SchemaWarning> warnings)
    {
        switch (expression)
        {
            case NilSyntax:
                return PlanNode.Nil;
            case NameSyntax name:
                if (!type.TryGetMember(name.Name, out var member))
                {
                    throw Error(name.Position, $"permission '{permission}' refers to '{name.Name}', which is not a relation or permission of '{type.Name}'");
                }

                return PlanNode.ForMember(member);
            case ArrowSyntax arrow:
                return CompileArrow(arrow, type, permission, typeCount, warnings);
            case BinarySyntax binary:
                var kind = binary.Operator switch
                {
                    SetOperator.Union => PlanKind.Union,
                    SetOperator.Intersection => PlanKind.Intersection,
                    _ => PlanKind.Exclusion,
                };
                var left = CompileExpression(binary.Left, type, permission, typeCount, warnings);
                var right = CompileExpression(binary.Right, type, permission, typeCount, warnings);
                if (kind == PlanKind.Exclusion)
                {
                    return PlanNode.ForOperator(kind, [left, right]);
                }

                // Flatten a + b + c into one node with three children: one loop instead of a chain of calls.
                var children = new List<PlanNode>();
                foreach (var side in new[] { left, right })
                {
                    if (side.Kind == kind)
                    {
                        children.AddRange(side.Children);
                    }
                    else
                    {
                        children.Add(side);
                    }
                }

                return PlanNode.ForOperator(kind, [.. children]);
            default:
                throw new InvalidOperationException($"unknown expression {expression.GetType().Name}");
        }
    }

    private static PlanNode CompileArrow(
        ArrowSyntax arrow, TypeDefinition type, PermissionDefinition permission, int typeCount, List<SchemaWarning> warnings)
    {
        if (!type.TryGetMember(arrow.Relation, out var left))
        {
            throw Error(arrow.Position, $"arrow '{arrow.Text}' in '{permission}' walks '{arrow.Relation}', which is not a relation of '{type.Name}'");
        }

        if (left is not RelationDefinition relation)
        {
            throw Error(arrow.Position, $"arrow '{arrow.Text}' in '{permission}' walks '{arrow.Relation}', a permission: the left side of an arrow must be a relation");
        }

        if (relation.AllowedSubjects.Any(s => s.Wildcard))
        {
            throw Error(arrow.Position, $"arrow '{arrow.Text}' walks relation '{relation}', which allows a wildcard subject: remove the wildcard or do not walk this relation");
        }

        var targets = new MemberDefinition?[typeCount];
        var found = false;
        foreach (var allowed in relation.AllowedSubjects)
        {
            if (allowed.Type.TryGetMember(arrow.Target, out var target))
            {
                targets[allowed.Type.Index] = target;
                found = true;
            }
        }

        if (!found)
        {
            // SpiceDB loads it: the arrow walks objects none of which can have the member, so it never grants.
            var typeNames = string.Join(", ", relation.AllowedSubjects.Select(s => s.Type.Name).Distinct());
            warnings.Add(new SchemaWarning(
                arrow.TargetPosition.Line, arrow.TargetPosition.Column,
                $"arrow '{arrow.Text}' in '{permission}' never grants: no type that '{arrow.Relation}' allows ({typeNames}) has a relation or permission named '{arrow.Target}'"));
        }

        relation.IsArrowSource = true;
        return PlanNode.ForArrow(relation, arrow.Target, targets, arrow.All);
    }

    // A permission is grounded when some evaluation of it can reach a stored relationship without coming back to
    // itself. SpiceDB loads 'permission p = parent->p' alone; it can never be true (every walk ends at an object with no
    // parent, or cycles), so it is a warning.
    private static void WarnUngroundedPermissions(List<TypeDefinition> types, List<SchemaWarning> warnings)
    {
        var grounded = new HashSet<MemberDefinition>();
        foreach (var member in types.SelectMany(t => t.Members))
        {
            if (member is RelationDefinition)
            {
                grounded.Add(member);
            }
        }

        bool changed;
        do
        {
            changed = false;
            foreach (var permission in types.SelectMany(t => t.Members).OfType<PermissionDefinition>())
            {
                if (!grounded.Contains(permission) && IsGrounded(permission.Plan, grounded))
                {
                    grounded.Add(permission);
                    changed = true;
                }
            }
        }
        while (changed);

        foreach (var permission in types.SelectMany(t => t.Members).OfType<PermissionDefinition>())
        {
            if (!grounded.Contains(permission))
            {
                warnings.Add(new SchemaWarning(
                    permission.Position.Line, permission.Position.Column,
                    $"permission '{permission}' never grants: every way through it comes back to itself or ends at something that never grants (add a base case, for example 'viewer + parent->{permission.Name}')"));
            }
        }
    }

    private static bool IsGrounded(PlanNode node, HashSet<MemberDefinition> grounded) => node.Kind switch
    {
        PlanKind.Nil => true,
        PlanKind.Member => grounded.Contains(node.Member!),
        PlanKind.Arrow => node.ArrowTargets.Any(t => t is not null && grounded.Contains(t)),
        PlanKind.Union => node.Children.Any(c => IsGrounded(c, grounded)),
        PlanKind.Intersection => node.Children.All(c => IsGrounded(c, grounded)),
        _ => IsGrounded(node.Children[0], grounded),
    };

    // A permission that reaches itself on the same object without an arrow in between: SpiceDB loads it, and a check
    // that walks the cycle without deciding fails there with "max depth exceeded"; so it does here (an undecided
    // evaluation is an error, never a deny that might be wrong). Said once per cycle, where it was found.
    private static void WarnSameObjectCycles(List<TypeDefinition> types, List<SchemaWarning> warnings)
    {
        foreach (var type in types)
        {
            var state = new Dictionary<PermissionDefinition, int>();
            foreach (var permission in type.Members.OfType<PermissionDefinition>())
            {
                Visit(permission, state, new Stack<PermissionDefinition>(), warnings);
            }
        }

        static void Visit(PermissionDefinition permission, Dictionary<PermissionDefinition, int> state, Stack<PermissionDefinition> path, List<SchemaWarning> warnings)
        {
            if (state.TryGetValue(permission, out var s))
            {
                if (s == 1)
                {
                    var cycle = path.Reverse().SkipWhile(p => p != permission).Select(p => p.Name).Append(permission.Name);
                    warnings.Add(new SchemaWarning(
                        permission.Position.Line, permission.Position.Column,
                        $"permission '{permission}' refers to itself on the same object ({string.Join(" -> ", cycle)}): a check that goes round this cycle without finding the subject fails with 'depth exceeded', as SpiceDB's does"));
                }

                return;
            }

            state[permission] = 1;
            path.Push(permission);
            foreach (var reference in SameObjectReferences(permission.Plan))
            {
                Visit(reference, state, path, warnings);
            }

            path.Pop();
            state[permission] = 2;
        }

        static IEnumerable<PermissionDefinition> SameObjectReferences(PlanNode node) => node.Kind switch
        {
            PlanKind.Member when node.Member is PermissionDefinition p => [p],
            PlanKind.Union or PlanKind.Intersection or PlanKind.Exclusion => node.Children.SelectMany(SameObjectReferences),
            _ => [],
        };
    }

    // Greatest fixpoint: start from every relation used as a subject set, drop those that admit a
    // subject set which is not itself indexable (a permission, or a relation that is dropped).
    private static void MarkMembershipIndexedRelations(List<TypeDefinition> types)
    {
        var allRelations = types.SelectMany(t => t.Members).OfType<RelationDefinition>().ToList();
        var candidates = new HashSet<RelationDefinition>(
            allRelations.SelectMany(r => r.AllowedSubjects).Select(s => s.Relation).OfType<RelationDefinition>());
        bool changed;
        do
        {
            // An expiring or caveated membership cannot be precomputed (the closure would outlive it, or hold without its
            // condition): such a relation is evaluated.
            changed = candidates.RemoveWhere(r => r.AllowedSubjects.Any(s =>
                s.Expiring || s.Caveat is not null || (s.Relation is not null && (s.Relation is not RelationDefinition inner || !candidates.Contains(inner))))) > 0;
        }
        while (changed);

        foreach (var relation in candidates)
        {
            relation.IsMembershipIndexed = true;
        }
    }

    private static SchemaException Error(SourcePosition position, string detail) => new(position.Line, position.Column, detail);
}
