namespace AuthzGrpc.Core.Caveats;

/// <summary>The kinds of value a caveat expression handles; <see cref="Null"/> is only the type of the <c>null</c> literal.</summary>
internal enum TypeKind
{
    Int,
    UInt,
    Double,
    Bool,
    String,
    Bytes,
    Duration,
    Timestamp,
    IpAddress,
    Any,
    List,
    Map,
    Null,
}

/// <summary>
/// A caveat parameter's declared type, as SpiceDB names them: <c>int uint double bool string bytes duration timestamp
/// ipaddress any list&lt;T&gt; map&lt;T&gt;</c> (map keys are always strings). <c>any</c> is checked at runtime.
/// </summary>
public sealed record CaveatType
{
    private const string KnownTypes = "any, bool, bytes, double, duration, int, ipaddress, list<T>, map<T>, string, timestamp, uint";

    private CaveatType(TypeKind kind, CaveatType? elementType)
    {
        Kind = kind;
        ElementType = elementType;
    }

    /// <summary>64-bit signed integer.</summary>
    public static CaveatType Int { get; } = new(TypeKind.Int, null);

    /// <summary>64-bit unsigned integer.</summary>
    public static CaveatType UInt { get; } = new(TypeKind.UInt, null);

    /// <summary>IEEE 754 double.</summary>
    public static CaveatType Double { get; } = new(TypeKind.Double, null);

    /// <summary>Boolean.</summary>
    public static CaveatType Bool { get; } = new(TypeKind.Bool, null);

    /// <summary>Unicode string.</summary>
    public static CaveatType String { get; } = new(TypeKind.String, null);

    /// <summary>Byte sequence; base64 in a JSON context.</summary>
    public static CaveatType Bytes { get; } = new(TypeKind.Bytes, null);

    /// <summary>Signed span of time; a Go-style string ("1h30m") in a JSON context.</summary>
    public static CaveatType Duration { get; } = new(TypeKind.Duration, null);

    /// <summary>Instant in UTC; an RFC 3339 string in a JSON context.</summary>
    public static CaveatType Timestamp { get; } = new(TypeKind.Timestamp, null);

    /// <summary>SpiceDB's IPv4 or IPv6 address type.</summary>
    public static CaveatType IpAddress { get; } = new(TypeKind.IpAddress, null);

    /// <summary>Any JSON value, checked when the expression runs.</summary>
    public static CaveatType Any { get; } = new(TypeKind.Any, null);

    internal static CaveatType Null { get; } = new(TypeKind.Null, null);

    internal TypeKind Kind { get; }

    /// <summary>The element type of a list or the value type of a map; null for the other types.</summary>
    public CaveatType? ElementType { get; }

    internal bool IsDynamic => Kind == TypeKind.Any;

    internal bool IsNumeric => Kind is TypeKind.Int or TypeKind.UInt or TypeKind.Double;

    /// <summary>A list whose elements are all of <paramref name="elementType"/>.</summary>
    public static CaveatType List(CaveatType elementType)
    {
        ArgumentNullException.ThrowIfNull(elementType);
        return new(TypeKind.List, elementType);
    }

    /// <summary>A map from string keys to values of <paramref name="valueType"/>.</summary>
    public static CaveatType Map(CaveatType valueType)
    {
        ArgumentNullException.ThrowIfNull(valueType);
        return new(TypeKind.Map, valueType);
    }

    /// <summary>
    /// The type a schema names, with its type arguments (one for <c>list</c> and <c>map</c>, none for the others).
    /// Throws <see cref="CaveatException"/> of kind Compile for an unknown name or the wrong number of arguments.
    /// </summary>
    public static CaveatType Parse(string name, IReadOnlyList<CaveatType> typeArguments)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(typeArguments);
        var scalar = name switch
        {
            "int" => Int,
            "uint" => UInt,
            "double" => Double,
            "bool" => Bool,
            "string" => String,
            "bytes" => Bytes,
            "duration" => Duration,
            "timestamp" => Timestamp,
            "ipaddress" => IpAddress,
            "any" => Any,
            _ => null,
        };
        if (scalar is not null)
        {
            return typeArguments.Count == 0
                ? scalar
                : throw new CaveatException(CaveatErrorKind.Compile, $"caveat type '{name}' takes no type arguments, got {typeArguments.Count}");
        }

        if (name is "list" or "map")
        {
            if (typeArguments.Count != 1)
            {
                throw new CaveatException(CaveatErrorKind.Compile, $"caveat type '{name}' takes exactly one type argument, got {typeArguments.Count}");
            }

            return name == "list" ? List(typeArguments[0]) : Map(typeArguments[0]);
        }

        throw new CaveatException(CaveatErrorKind.Compile, $"unknown caveat type '{name}'; known types: {KnownTypes}");
    }

    /// <summary>Parses a type as written in a schema, e.g. <c>map&lt;list&lt;string&gt;&gt;</c>; same errors as the other overload.</summary>
    public static CaveatType Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var position = 0;
        var type = ParseFrom(text, ref position);
        SkipSpaces(text, ref position);
        return position == text.Length
            ? type
            : throw new CaveatException(CaveatErrorKind.Compile, $"unexpected '{text[position..]}' after caveat type in '{text}'");
    }

    private static CaveatType ParseFrom(string text, ref int position)
    {
        SkipSpaces(text, ref position);
        var start = position;
        while (position < text.Length && (char.IsAsciiLetterOrDigit(text[position]) || text[position] == '_'))
        {
            position++;
        }

        var name = text[start..position];
        SkipSpaces(text, ref position);
        var arguments = new List<CaveatType>();
        if (position < text.Length && text[position] == '<')
        {
            do
            {
                position++;
                arguments.Add(ParseFrom(text, ref position));
                SkipSpaces(text, ref position);
            }
            while (position < text.Length && text[position] == ',');
            if (position >= text.Length || text[position] != '>')
            {
                throw new CaveatException(CaveatErrorKind.Compile, $"expected '>' in caveat type '{text}'");
            }

            position++;
        }

        return Parse(name, arguments);
    }

    private static void SkipSpaces(string text, ref int position)
    {
        while (position < text.Length && char.IsWhiteSpace(text[position]))
        {
            position++;
        }
    }

    /// <summary>The type as a schema writes it, e.g. <c>list&lt;int&gt;</c>.</summary>
    public override string ToString() => Kind switch
    {
        TypeKind.List => $"list<{ElementType}>",
        TypeKind.Map => $"map<{ElementType}>",
        TypeKind.Null => "null",
        TypeKind.UInt => "uint",
        TypeKind.IpAddress => "ipaddress",
        _ => Kind.ToString().ToLowerInvariant(),
    };
}
