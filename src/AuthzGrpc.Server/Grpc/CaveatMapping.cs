using AuthzGrpc.Core.Caveats;
using AuthzGrpc.Core.Model;
using AuthzGrpc.V1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using FieldViolation = Google.Rpc.BadRequest.Types.FieldViolation;

namespace AuthzGrpc.Server.Grpc;

/// <summary>Caveat contexts between the API (google.protobuf.Struct, as SpiceDB sends them) and the model (JSON).</summary>
internal static class CaveatMapping
{
    /// <summary>
    /// Reads a context: null when unset; a violation of <paramref name="field"/> when it is not a JSON object the model
    /// takes (over 4 KiB, nested too deep, a number JSON cannot hold).
    /// </summary>
    public static FieldViolation? Context(Struct? value, string field, out CaveatContext? context)
    {
        context = null;
        if (value is null)
        {
            return null;
        }

        try
        {
            context = CaveatContext.Parse(JsonFormatter.Default.Format(value));
            return null;
        }
        catch (Exception e) when (e is CaveatException or InvalidOperationException or FormatException)
        {
            return RequestValidation.Violation(field, e.Message);
        }
    }

    /// <summary>Validates a relationship's caveat: a caveat name (as a type name is spelt) and a context as <see cref="Context"/> reads it.</summary>
    public static FieldViolation? Caveat(ContextualizedCaveat? caveat, string field) =>
        caveat is null ? null
        : !Identifiers.IsValidType(caveat.CaveatName)
            ? RequestValidation.Violation(field + ".caveat_name", "is required: the name of a caveat the schema defines (lowercase letters, digits and '_', optionally prefixed)")
            : Context(caveat.Context, field + ".context", out _);

    /// <summary>A validated relationship caveat in the model's terms.</summary>
    public static RelationshipCaveat? ToModel(ContextualizedCaveat? caveat)
    {
        if (caveat is null)
        {
            return null;
        }

        Context(caveat.Context, "context", out var context);
        return new RelationshipCaveat(caveat.CaveatName, context ?? CaveatContext.Empty);
    }

    /// <summary>The model's relationship caveat as the API sends it (no context when it is empty).</summary>
    public static ContextualizedCaveat? ToProto(RelationshipCaveat? caveat) => caveat is null ? null : new()
    {
        CaveatName = caveat.Name,
        Context = caveat.Context.IsEmpty ? null : JsonParser.Default.Parse<Struct>(caveat.Context.ToJson()),
    };
}
