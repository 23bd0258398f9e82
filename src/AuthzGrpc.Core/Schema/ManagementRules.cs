namespace AuthzGrpc.Core.Schema;

/// <summary>Who may make one kind of change to a relation.</summary>
/// <param name="By">The permission (or relation) the caller needs on the object.</param>
/// <param name="Holding">
/// When set, granting also needs the caller to have this on the object (no escalation): the relation being granted
/// itself, or the permission named after <c>holding</c>.
/// </param>
/// <param name="ExceptSelf">Nobody may change their own relationships this way.</param>
/// <param name="To">When set, the rule applies only to subjects that already have this on the object (changing an existing member's roles).</param>
/// <param name="Unless">When set, the rule does not apply to subjects that have this on the object (a protected principal such as the owner).</param>
public sealed record AccessRule(MemberDefinition By, MemberDefinition? Holding, bool ExceptSelf, MemberDefinition? To = null, MemberDefinition? Unless = null);

/// <summary>How a <c>match</c> rule ties the subject written to a relation to the object.</summary>
public enum MatchMode
{
    /// <summary><c>match r by other</c>: the subject's <c>other</c> relation holds this object (a group of this project).</summary>
    By,

    /// <summary><c>match r within other</c>: the subject's <c>other</c> is this object's <c>other</c> (a type of this environment's project).</summary>
    Within,

    /// <summary><c>match r as other</c>: the subject is what this object's <c>other</c> holds (the environment's own project).</summary>
    As,
}

/// <summary><c>match relation by|within|as other</c>.</summary>
/// <param name="Mode">How the subject must relate to the object.</param>
/// <param name="Other">The relation compared (named the same on the subject's type for <c>by</c> and <c>within</c>).</param>
public sealed record MatchRule(MatchMode Mode, string Other);

/// <summary><c>create by relation-&gt;permission</c>: an object is created under a parent it names in <paramref name="Under"/>.</summary>
/// <param name="Under">The relation of the new object that points at its parent.</param>
/// <param name="Permission">The permission the caller needs on the parent.</param>
public sealed record CreateRule(RelationDefinition Under, string Permission);

/// <summary>
/// <c>require one type#relation</c>: exactly one object whose <paramref name="Mark"/> names the object declaring the
/// rule. It is created with that object (CreateResource's children) and cannot be deleted alone.
/// </summary>
/// <param name="Mark">The relation, of the required object's type (its owner), that marks it.</param>
public sealed record RequireRule(RelationDefinition Mark);

/// <summary>
/// The management rules a definition declares (docs/SCHEMA.md, "Management rules"). They decide which changes the
/// management API accepts; they never affect a check. A relation without a grant (revoke) rule cannot be granted
/// (revoked) through the management API at all.
/// </summary>
public sealed class ManagementRules
{
    /// <summary>No rules.</summary>
    public static readonly ManagementRules None = new();

    /// <summary>Who may add each relation: any one of its rules that holds allows it.</summary>
    public IReadOnlyDictionary<RelationDefinition, IReadOnlyList<AccessRule>> Grant { get; init; } = new Dictionary<RelationDefinition, IReadOnlyList<AccessRule>>();

    /// <summary>Who may remove each relation: any one of its rules that holds allows it.</summary>
    public IReadOnlyDictionary<RelationDefinition, IReadOnlyList<AccessRule>> Revoke { get; init; } = new Dictionary<RelationDefinition, IReadOnlyList<AccessRule>>();

    /// <summary>Relations holding one subject at most: a grant replaces the current subject.</summary>
    public IReadOnlySet<RelationDefinition> Single { get; init; } = new HashSet<RelationDefinition>();

    /// <summary>How the subject written to each relation must relate to the object.</summary>
    public IReadOnlyDictionary<RelationDefinition, MatchRule> Match { get; init; } = new Dictionary<RelationDefinition, MatchRule>();

    /// <summary>The least number of subjects each relation keeps (the last owner stays).</summary>
    public IReadOnlyDictionary<RelationDefinition, int> Minimum { get; init; } = new Dictionary<RelationDefinition, int>();

    /// <summary>The base membership: implied by any grant on this object or below it; removing it removes them all.</summary>
    public RelationDefinition? Base { get; init; }

    /// <summary>The permission a subject needs to leave (remove its own base membership); null when nobody may leave.</summary>
    public MemberDefinition? LeaveBy { get; init; }

    /// <summary>Relations that can be handed over, and the permission the caller needs to do so.</summary>
    public IReadOnlyDictionary<RelationDefinition, MemberDefinition> Transfer { get; init; } = new Dictionary<RelationDefinition, MemberDefinition>();

    /// <summary>Relations whose subject may be the subject on at most one object of this type.</summary>
    public IReadOnlySet<RelationDefinition> Unique { get; init; } = new HashSet<RelationDefinition>();

    /// <summary>
    /// <c>unique r when q</c>: an object with <c>q</c> set keeps its subject of <c>r</c> to itself — no other object of the
    /// type holds it (a preview environment does not take the production environment's type).
    /// </summary>
    public IReadOnlyDictionary<RelationDefinition, RelationDefinition> UniqueWhen { get; init; } = new Dictionary<RelationDefinition, RelationDefinition>();

    /// <summary>Relations that cannot change once set; the value, when not null, is the relation whose presence makes it so.</summary>
    public IReadOnlyDictionary<RelationDefinition, RelationDefinition?> Immutable { get; init; } = new Dictionary<RelationDefinition, RelationDefinition?>();

    /// <summary>Groups of relations of which a subject holds at most one on an object (one role per user).</summary>
    public IReadOnlyList<IReadOnlySet<RelationDefinition>> Exclusive { get; init; } = [];

    /// <summary>The relation pointing at the object this one belongs to (the containment tree); null at the top.</summary>
    public RelationDefinition? Parent { get; init; }

    /// <summary>Who may create an object of this type, and under what; null when the management API cannot create it.</summary>
    public CreateRule? Create { get; init; }

    /// <summary>The permission needed to delete an object of this type; null when the management API cannot delete it.</summary>
    public MemberDefinition? Delete { get; init; }

    /// <summary>The permission needed to read the audit log about an object of this type; null: admin keys only.</summary>
    public MemberDefinition? Audit { get; init; }

    /// <summary>
    /// The permission on an object of this type that lets a subject create personal API keys acting as itself (check or
    /// management keys, never admin); null: only admin keys create keys.
    /// </summary>
    public MemberDefinition? Keys { get; init; }

    /// <summary>The objects of other types this one needs exactly one of (a project's production environment).</summary>
    public IReadOnlyList<RequireRule> Require { get; init; } = [];

    /// <summary>
    /// The permission on an object of this type that lets a subject read another subject's access summary across it;
    /// null: the subject itself and those who may revoke a role on the object.
    /// </summary>
    public MemberDefinition? Summary { get; init; }

    /// <summary>
    /// The permission an inviter needs on an object of this type to invite anyone to it (the invitation's resource, or
    /// an object of its grants), judged when the invitation is made, on top of the grant rules of the roles it carries;
    /// null: the grant rules alone decide (A003-4: adding users to a project needs project admin, whatever a rule with
    /// <c>to</c> would allow at acceptance).
    /// </summary>
    public MemberDefinition? Invite { get; init; }

    /// <summary>
    /// The permission needed to read an object of this type through the management API (GetResource; ListResources
    /// lists only the objects the caller may read); null: admin keys only (R11: default deny).
    /// </summary>
    public MemberDefinition? Read { get; init; }

    /// <summary>
    /// The permission needed to read the member list of an object of this type (ListMembers); null: admin keys only
    /// (R11: membership alone shows nothing).
    /// </summary>
    public MemberDefinition? Members { get; init; }

    /// <summary>
    /// The roles: relations the management API manages (with a grant or revoke rule) and the base membership. Other
    /// relations are attributes or structure (a creator, a parent) that member lists and cascades leave alone.
    /// </summary>
    public IReadOnlySet<RelationDefinition> Roles => field ??= Grant.Keys.Concat(Revoke.Keys).Concat(Base is null ? [] : [Base]).ToHashSet();
}
