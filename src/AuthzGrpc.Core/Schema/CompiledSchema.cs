using System.Collections.Frozen;
using AuthzGrpc.Core.Caveats;

namespace AuthzGrpc.Core.Schema;

/// <summary>
/// A schema whose names are resolved and whose permissions are compiled into evaluation plans. Immutable:
/// a new schema is a new instance, swapped in whole.
/// </summary>
public sealed class CompiledSchema
{
    private readonly FrozenDictionary<string, TypeDefinition> _typesByName;

    internal CompiledSchema(
        string text, SchemaDocument syntax, IReadOnlyList<TypeDefinition> types, IReadOnlyDictionary<string, CompiledCaveat> caveats,
        IReadOnlyList<SchemaWarning> warnings)
    {
        Caveats = caveats.ToFrozenDictionary(StringComparer.Ordinal);
        UsesCaveats = caveats.Count > 0;
        Text = text;
        Warnings = warnings;
        Syntax = syntax;
        UsesExpiration = syntax.UseExpiration is not null;
        Types = types;
        _typesByName = types.ToFrozenDictionary(t => t.Name, StringComparer.Ordinal);
    }

    /// <summary>The schema text it was compiled from.</summary>
    public string Text { get; }

    /// <summary>
    /// What the schema holds that SpiceDB would load but that can never grant, or grants here by the least fixpoint
    /// where SpiceDB fails, or that SpiceDB now refuses to write (names under three characters): in text order.
    /// </summary>
    public IReadOnlyList<SchemaWarning> Warnings { get; }

    /// <summary>The parsed text, for tools that work on the definitions as written.</summary>
    public SchemaDocument Syntax { get; }

    /// <summary>Whether some relationship may expire (<c>use expiration</c>): evaluation then reads the clock. Read by every check, so kept as a field.</summary>
    public bool UsesExpiration { get; }

    /// <summary>The caveats by name (<c>caveat name(params) { CEL }</c>), each compiled.</summary>
    public IReadOnlyDictionary<string, CompiledCaveat> Caveats { get; }

    /// <summary>
    /// Whether the schema defines caveats: a check may then depend on context and answer conditionally, and the paths
    /// that precompute answers (the shared graph's records) leave such checks to the engine.
    /// </summary>
    public bool UsesCaveats { get; }

    /// <summary>
    /// Refuses a check's caveat context (InvalidArgument) when a value does not fit the type some caveat of the schema
    /// declares for its parameter. Judged on the schema alone, before any relationship is read, so the refusal says
    /// nothing of which caveated relationships a check would meet.
    /// </summary>
    public void CheckCaveatContext(CaveatContext? context)
    {
        if (context is null || context.IsEmpty)
        {
            return;
        }

        try
        {
            foreach (var caveat in Caveats.Values)
            {
                caveat.CheckContext(context);
            }
        }
        catch (CaveatException e)
        {
            throw AuthzException.Invalid(e.Message);
        }
    }

    /// <summary>Every definition, in the order written; <see cref="TypeDefinition.Index"/> is the position here.</summary>
    public IReadOnlyList<TypeDefinition> Types { get; }

    /// <summary>Finds a definition by name.</summary>
    public bool TryGetType(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out TypeDefinition? type) =>
        _typesByName.TryGetValue(name, out type);

    /// <summary>The definition of <paramref name="type"/>; InvalidArgument when the schema does not define it.</summary>
    public TypeDefinition RequireType(string type) =>
        TryGetType(type, out var definition) ? definition : throw AuthzException.Invalid($"type '{type}' is not defined in the schema");

    /// <summary>
    /// Compiles schema text as stored (a schema already in a database, a test's): throws <see cref="SchemaException"/>
    /// naming line, column and the fix; what SpiceDB would refuse only at write is in <see cref="Warnings"/>.
    /// </summary>
    public static CompiledSchema Compile(string text) => SchemaCompiler.Compile(text);

    /// <summary>
    /// Throws the <see cref="AuthzException"/> (<see cref="AuthzErrorKind.InvalidArgument"/>) that writing (creating or
    /// touching) <paramref name="relationship"/> to an engine of this schema would throw — an undefined type or relation,
    /// a permission, a subject type, relation, wildcard, caveat or expiry the relation does not allow, a caveat context
    /// the caveat does not take — without an engine: the same check, so a caller refuses exactly what a write would.
    /// </summary>
    public void ValidateRelationship(Relationship relationship) => Engine.RelationshipGraph.Resolve(this, relationship);

    /// <summary>
    /// Compiles a schema being written now (WriteSchema, a new database's seed): as <see cref="Compile"/>, and refuses
    /// what SpiceDB refuses at write too (names under three characters).
    /// </summary>
    public static CompiledSchema CompileForWrite(string text) => SchemaCompiler.Compile(text, forWrite: true);
}

/// <summary>A compiled <c>definition</c>.</summary>
public sealed class TypeDefinition
{
    private FrozenDictionary<string, MemberDefinition> _membersByName = FrozenDictionary<string, MemberDefinition>.Empty;

    internal TypeDefinition(string name, int index)
    {
        Name = name;
        Index = index;
    }

    /// <summary>The type name, e.g. <c>project</c>.</summary>
    public string Name { get; }

    /// <summary>Position in <see cref="CompiledSchema.Types"/>.</summary>
    public int Index { get; }

    /// <summary>The management rules of the definition (<see cref="ManagementRules.None"/> when it declares none).</summary>
    public ManagementRules Rules { get; internal set; } = ManagementRules.None;

    /// <summary>Relations and permissions in the order written; <see cref="MemberDefinition.Index"/> is the position here.</summary>
    public IReadOnlyList<MemberDefinition> Members { get; private set; } = [];

    /// <summary>
    /// One past the last relation's <see cref="MemberDefinition.Index"/>: the slots an object's relation sets need, which
    /// leave out the permissions declared after the last relation (all of them in a schema that lists relations first).
    /// </summary>
    internal int RelationSlots { get; private set; }

    /// <summary>Finds a relation or permission by name.</summary>
    public bool TryGetMember(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out MemberDefinition? member) =>
        _membersByName.TryGetValue(name, out member);

    internal void SetMembers(IReadOnlyList<MemberDefinition> members)
    {
        Members = members;
        RelationSlots = members.OfType<RelationDefinition>().Select(r => r.Index + 1).DefaultIfEmpty(0).Max();
        _membersByName = members.ToFrozenDictionary(m => m.Name, StringComparer.Ordinal);
    }

    /// <inheritdoc/>
    public override string ToString() => Name;
}

/// <summary>A relation or a permission of a definition.</summary>
public abstract class MemberDefinition
{
    private protected MemberDefinition(TypeDefinition owner, string name, int index, SourcePosition position)
    {
        Owner = owner;
        Name = name;
        Index = index;
        Position = position;
    }

    /// <summary>The definition it belongs to.</summary>
    public TypeDefinition Owner { get; }

    /// <summary>The member name.</summary>
    public string Name { get; }

    /// <summary>Position in <see cref="TypeDefinition.Members"/>.</summary>
    public int Index { get; }

    /// <summary>Where it is declared.</summary>
    public SourcePosition Position { get; }

    /// <inheritdoc/>
    public override string ToString() => $"{Owner.Name}#{Name}";
}

/// <summary>A relation: stored relationships, with the subject types it allows.</summary>
public sealed class RelationDefinition : MemberDefinition
{
    internal RelationDefinition(TypeDefinition owner, string name, int index, SourcePosition position)
        : base(owner, name, index, position)
    {
    }

    /// <summary>The subject types a relationship on this relation may have.</summary>
    public IReadOnlyList<AllowedSubject> AllowedSubjects { get; internal set; } = [];

    /// <summary>
    /// True when this relation is used as a subject set elsewhere (<c>group#member</c>) and every subject set it admits is
    /// also such a relation. Membership in these relations is precomputed transitively (the Leopard index), so a check
    /// through nested groups costs one lookup instead of a walk.
    /// </summary>
    public bool IsMembershipIndexed { get; internal set; }

    /// <summary>True when some subject type of this relation is <c>with expiration</c>: its relationships may expire.</summary>
    public bool AllowsExpiration => AllowedSubjects.Any(s => s.Expiring);

    /// <summary>True when some subject type of this relation is <c>with</c> a caveat: its relationships may hold only under a condition.</summary>
    public bool AllowsCaveats => AllowedSubjects.Any(s => s.Caveat is not null);

    /// <summary>True when some permission walks this relation with <c>-&gt;</c>; its edges form the ancestor chains.</summary>
    public bool IsArrowSource { get; internal set; }

    /// <summary>
    /// Whether a subject of this shape may be written to this relation: with an expiry when <paramref name="expiring"/>,
    /// with the caveat named <paramref name="caveat"/> (null: none) — each exactly as a subject type allows, as in SpiceDB.
    /// </summary>
    public bool Allows(TypeDefinition subjectType, MemberDefinition? subjectRelation, bool wildcard, bool expiring = false, string? caveat = null)
    {
        foreach (var allowed in AllowedSubjects)
        {
            if (allowed.Type == subjectType && allowed.Wildcard == wildcard && allowed.Relation == subjectRelation && allowed.Expiring == expiring
                && string.Equals(allowed.Caveat?.Name, caveat, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>A permission: a compiled expression over relations and other permissions.</summary>
public sealed class PermissionDefinition : MemberDefinition
{
    internal PermissionDefinition(TypeDefinition owner, string name, int index, SourcePosition position)
        : base(owner, name, index, position)
    {
    }

    /// <summary>The evaluation plan of the expression.</summary>
    public PlanNode Plan { get; internal set; } = PlanNode.Nil;
}

/// <summary>One allowed subject type of a relation.</summary>
/// <param name="Type">The subject's object type.</param>
/// <param name="Relation">For a subject set (<c>group#member</c>), the member; otherwise null.</param>
/// <param name="Wildcard">True for <c>type:*</c>.</param>
/// <param name="Expiring">
/// True for <c>with expiration</c>: relationships of this shape carry an expiry, and (as in SpiceDB) only they may; a
/// relation allowing both writes <c>user | user with expiration</c>.
/// </param>
/// <param name="Caveat">
/// For <c>with name</c>: the caveat relationships of this shape carry (and, as in SpiceDB, only they may); otherwise null.
/// </param>
public readonly record struct AllowedSubject(TypeDefinition Type, MemberDefinition? Relation, bool Wildcard, bool Expiring = false, CompiledCaveat? Caveat = null)
{
    /// <inheritdoc/>
    public override string ToString() =>
        (Wildcard ? $"{Type.Name}:*" : Relation is null ? Type.Name : $"{Type.Name}#{Relation.Name}")
        + (Caveat, Expiring) switch
        {
            (null, false) => string.Empty,
            (null, true) => " with expiration",
            (_, false) => $" with {Caveat.Name}",
            _ => $" with {Caveat.Name} and expiration",
        };
}
