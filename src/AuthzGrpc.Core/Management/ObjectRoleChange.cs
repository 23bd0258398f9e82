using AuthzGrpc.Core.Model;

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
public sealed record ObjectRoleChange(ObjectRef Resource, RoleChangeKind Kind, IReadOnlyList<string> Roles);

/// <summary>
/// A condition an invitation leaves for its acceptance: the inviter could grant <paramref name="Role"/> on
/// <paramref name="Resource"/> only through rules with <c>to</c>, so the accepting subject must have one of
/// <paramref name="AnyOf"/> (permissions or relations of the resource's type) there before it accepts.
/// </summary>
public sealed record AcceptCondition(ObjectRef Resource, string Role, IReadOnlyList<string> AnyOf);
