using AuthzGrpc.Core.Caveats;

namespace AuthzGrpc.Core.Model;

/// <summary>
/// The caveat a relationship holds under: the caveat's name in the schema, and the part of its context fixed when the
/// relationship was written (a check supplies the rest; where both give a parameter, this one's value is used).
/// </summary>
/// <param name="Name">The caveat's name, as the schema defines it.</param>
/// <param name="Context">The parameters written with the relationship; <see cref="CaveatContext.Empty"/> for none.</param>
public sealed record RelationshipCaveat(string Name, CaveatContext Context)
{
    /// <summary>SpiceDB's text form: <c>[name]</c>, or <c>[name:{"param":1}]</c> with the context as canonical JSON.</summary>
    public override string ToString() => Context.IsEmpty ? $"[{Name}]" : $"[{Name}:{Context.ToJson()}]";

    /// <summary>The same caveat with the same context (compared as canonical JSON).</summary>
    public bool Equals(RelationshipCaveat? other) =>
        other is not null && string.Equals(Name, other.Name, StringComparison.Ordinal) && string.Equals(Context.ToJson(), other.Context.ToJson(), StringComparison.Ordinal);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Name, Context.ToJson());

    /// <summary>Reads <c>[name]</c> or <c>[name:{...}]</c>; <see cref="FormatException"/> when it is neither or the context is not a JSON object.</summary>
    public static RelationshipCaveat Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length < 3 || text[0] != '[' || text[^1] != ']')
        {
            throw new FormatException($"'{text}' is not a caveat: expected '[name]' or '[name:{{\"param\": value}}]'");
        }

        var body = text[1..^1];
        var colon = body.IndexOf(':', StringComparison.Ordinal);
        var name = colon < 0 ? body : body[..colon];
        Identifiers.ValidateType(name, text);
        try
        {
            return new RelationshipCaveat(name, colon < 0 ? CaveatContext.Empty : CaveatContext.Parse(body[(colon + 1)..]));
        }
        catch (CaveatException e)
        {
            throw new FormatException($"'{text}': {e.Message}", e);
        }
    }
}
