namespace AuthzGrpc.Core.Management;

/// <summary>How an <see cref="ObjectRoleChange"/> applies its roles.</summary>
public enum RoleChangeKind
{
    /// <summary>Grant each role, as <see cref="ManagementPlanner.Grant"/> does (with the base memberships it implies); roles already held stay.</summary>
    Grant,

    /// <summary>Revoke each role, as <see cref="ManagementPlanner.Revoke"/> does; a role the subject does not hold is NotFound.</summary>
    Revoke,

    /// <summary>The subject's roles on the object become exactly these, as <see cref="ManagementPlanner.SetRoles"/> makes them.</summary>
    Set,
}

/// <summary>One object's part of a <see cref="ManagementPlanner.ChangeRoles"/> batch.</summary>
/// <param name="Resource">The object the roles are on; a batch names each object at most once.</param>
/// <param name="Kind">Whether <paramref name="Roles"/> are granted, revoked, or become the subject's exact roles there.</param>
/// <param name="Roles">The roles: relations of the object's type.</param>
/// <param name="ExpiresAt">
/// For a grant: when the roles it adds, and the base memberships they imply, stop counting (a time-boxed grant); null
/// for never. Each such relation must allow its subject type <c>with expiration</c>. A role already held is left as it is.
/// </param>
public sealed record ObjectRoleChange(ObjectRef Resource, RoleChangeKind Kind, IReadOnlyList<string> Roles, DateTimeOffset? ExpiresAt = null);

/// <summary>
/// What one of the inviter's allowing rules asks of the subject it grants to: <paramref name="To"/> it must have on the
/// object (the rule's <c>to</c>), <paramref name="Unless"/> it must not have (the rule's <c>unless</c>); null: nothing.
/// </summary>
public sealed record SubjectCondition(string? To, string? Unless)
{
    /// <summary>The rule's words: <c>to member</c>, <c>unless owner</c>, <c>to member unless owner</c>.</summary>
    public override string ToString() => string.Join(" ", new[] { To is null ? null : $"to {To}", Unless is null ? null : $"unless {Unless}" }.OfType<string>());
}

/// <summary>
/// A condition an invitation leaves for its acceptance: the inviter could grant <paramref name="Role"/> on
/// <paramref name="Resource"/> only through rules with <c>to</c> or <c>unless</c>, which cannot be judged before the
/// invitee is known; the accepting subject must meet one of <paramref name="AnyOf"/> (one per allowing rule).
/// </summary>
public sealed record AcceptCondition(ObjectRef Resource, string Role, IReadOnlyList<SubjectCondition> AnyOf);
