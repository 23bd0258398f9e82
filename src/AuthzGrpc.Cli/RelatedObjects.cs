using AuthzGrpc.Core.Model;
using Grpc.Core;

namespace AuthzGrpc.Cli;

/// <summary>
/// The objects the short role form <c>name:role</c> picks from: those the command's object holds through
/// <see cref="Relation"/>, of type <see cref="Type"/>. The default, <c>environment_type</c>, is how the default and the
/// 003 model attach a project's environment types (<c>project:storefront#environment_type@environment_type:storefront_development</c>),
/// so <c>development:contributor</c> on <c>project:storefront</c> is <c>environment_type:storefront_development#contributor</c>.
/// </summary>
/// <param name="Relation">The relation of the command's object that holds the related objects.</param>
/// <param name="Type">The type of the related objects.</param>
internal sealed record RelatedObjects(string Relation, string Type)
{
    /// <summary>The relation (and type) used unless <c>--related</c> says otherwise.</summary>
    public const string DefaultText = "environment_type";

    /// <summary>Parses <c>relation</c> (objects of the type of the same name) or <c>relation:type</c>.</summary>
    public static RelatedObjects Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        var (relation, type) = colon < 0 ? (text, text) : (text[..colon], text[(colon + 1)..]);
        return Identifiers.IsValidName(relation) && Identifiers.IsValidType(type)
            ? new RelatedObjects(relation, type)
            : throw new FormatException($"--related '{text}': expected 'relation' or 'relation:type' (lowercase letters, digits and '_')");
    }

    /// <summary>
    /// Puts every role on its object: the plain form on <paramref name="target"/>, the full form on the object it names,
    /// the short form on the one of <paramref name="related"/> it names.
    /// </summary>
    public IReadOnlyList<(ObjectRef Object, string Relation)> Resolve(IReadOnlyList<RoleArgument> roles, ObjectRef target, IReadOnlyList<ObjectRef> related)
    {
        ArgumentNullException.ThrowIfNull(roles);
        return [.. roles.Select(r => (r.Object ?? (r.RelatedName is { } name ? Pick(name, target, related) : target), r.Relation)).Distinct()];
    }

    /// <summary>
    /// The objects <paramref name="target"/> holds through <see cref="Relation"/> (one LookupSubjects call); none when
    /// its type has no such relation, as an organization has no environment types of its own.
    /// </summary>
    public async Task<IReadOnlyList<ObjectRef>> ListAsync(ObjectRef target, V1.AuthorizationService.AuthorizationServiceClient client, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(client);

        // The relation is asked as an action: LookupSubjects follows it to the objects stored there.
        var request = new V1.LookupSubjectsRequest { Resource = new V1.ObjectRef { Type = target.Type, Id = target.Id }, Action = Relation, SubjectType = Type };
        var objects = new List<ObjectRef>();
        try
        {
            using var call = client.LookupSubjects(request, cancellationToken: cancellation);
            await foreach (var reply in call.ResponseStream.ReadAllAsync(cancellation))
            {
                objects.Add(new ObjectRef(reply.Subject.Object.Type, reply.Subject.Object.Id));
            }
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.InvalidArgument)
        {
            // The relation (or the type) is not in the schema: there is nothing to relate. A short role form then names
            // no object, and a malformed target is reported by the management call that follows.
            return [];
        }

        return objects;
    }

    /// <summary>
    /// The related object <paramref name="name"/> designates: the one whose id is <paramref name="name"/>, else the one
    /// whose id ends with <c>_name</c> or <c>-name</c> (ignoring case); an error listing the candidates when there is
    /// none or more than one.
    /// </summary>
    public ObjectRef Pick(string name, ObjectRef target, IReadOnlyList<ObjectRef> candidates)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(candidates);
        var exact = candidates.Where(c => string.Equals(c.Id, name, StringComparison.OrdinalIgnoreCase)).ToList();
        var matches = exact.Count > 0
            ? exact
            : [.. candidates.Where(c => c.Id.EndsWith("_" + name, StringComparison.OrdinalIgnoreCase) || c.Id.EndsWith("-" + name, StringComparison.OrdinalIgnoreCase))];
        if (matches.Count == 1)
        {
            return matches[0];
        }

        var listed = candidates.Count == 0 ? "it has none" : "it has " + string.Join(", ", candidates.Select(c => c.Id));
        var problem = matches.Count == 0 ? "names no" : "names more than one";
        throw new CommandLineException(
            $"'{name}' {problem} {Type} of {target} through its relation '{Relation}' ({listed}); name one by its id, or in full as {Type}:<id>#<role>");
    }

}
