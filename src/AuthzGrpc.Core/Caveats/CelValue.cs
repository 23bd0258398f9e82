using System.Globalization;

namespace AuthzGrpc.Core.Caveats;

/// <summary>The runtime kinds of <see cref="CelValue"/>; the last two are evaluation states, not values.</summary>
internal enum ValueKind : byte
{
    Null,
    Bool,
    Int,
    UInt,
    Double,
    String,
    Bytes,
    Duration,
    Timestamp,
    IpAddress,
    List,
    Map,
    Missing,
    Error,
}

/// <summary>
/// One value during evaluation. A struct so that scalars (numbers, bools, durations, timestamps) cost no allocation;
/// <see cref="ValueKind.Missing"/> and <see cref="ValueKind.Error"/> travel as values so that <c>&amp;&amp;</c>,
/// <c>||</c> and the macros can let a decisive operand override them (CEL's commutative logical operators).
/// </summary>
internal readonly struct CelValue
{
    private readonly long bits;
    private readonly object? reference;

    private CelValue(ValueKind kind, long bits, object? reference)
    {
        Kind = kind;
        this.bits = bits;
        this.reference = reference;
    }

    public ValueKind Kind { get; }

    public static CelValue Null => default;

    public static CelValue True { get; } = new(ValueKind.Bool, 1, null);

    public static CelValue False { get; } = new(ValueKind.Bool, 0, null);

    public bool IsMissingOrError => Kind >= ValueKind.Missing;

    public bool AsBool => bits != 0;

    public long AsInt => bits;

    public ulong AsUInt => unchecked((ulong)bits);

    public double AsDouble => BitConverter.Int64BitsToDouble(bits);

    public string AsString => (string)reference!;

    public byte[] AsBytes => (byte[])reference!;

    public TimeSpan AsDuration => new(bits);

    public DateTime AsTimestamp => new(bits, DateTimeKind.Utc);

    public IpAddressValue AsIpAddress => (IpAddressValue)reference!;

    public CelValue[] AsList => (CelValue[])reference!;

    public Dictionary<string, CelValue> AsMap => (Dictionary<string, CelValue>)reference!;

    /// <summary>Sorted ordinal, without duplicates.</summary>
    public string[] MissingNames => (string[])reference!;

    public string ErrorMessage => (string)reference!;

    public static CelValue Bool(bool value) => value ? True : False;

    public static CelValue Int(long value) => new(ValueKind.Int, value, null);

    public static CelValue UInt(ulong value) => new(ValueKind.UInt, unchecked((long)value), null);

    public static CelValue Double(double value) => new(ValueKind.Double, BitConverter.DoubleToInt64Bits(value), null);

    public static CelValue String(string value) => new(ValueKind.String, 0, value);

    public static CelValue Bytes(byte[] value) => new(ValueKind.Bytes, 0, value);

    public static CelValue Duration(TimeSpan value) => new(ValueKind.Duration, value.Ticks, null);

    public static CelValue Timestamp(DateTime utc) => new(ValueKind.Timestamp, utc.Ticks, null);

    public static CelValue IpAddress(IpAddressValue value) => new(ValueKind.IpAddress, 0, value);

    public static CelValue List(CelValue[] elements) => new(ValueKind.List, 0, elements);

    public static CelValue Map(Dictionary<string, CelValue> entries) => new(ValueKind.Map, 0, entries);

    public static CelValue Missing(string[] sortedNames) => new(ValueKind.Missing, 0, sortedNames);

    public static CelValue Error(string message) => new(ValueKind.Error, 0, message);

    /// <summary>The union of two missing sets, sorted ordinal.</summary>
    public static CelValue MergeMissing(CelValue left, CelValue right)
    {
        var a = left.MissingNames;
        var b = right.MissingNames;
        if (ReferenceEquals(a, b))
        {
            return left;
        }

        var merged = new SortedSet<string>(a, StringComparer.Ordinal);
        merged.UnionWith(b);
        return merged.Count == a.Length ? left : Missing([.. merged]);
    }

    /// <summary>
    /// For strict operations: the union of the missing operands if any is missing (the missing ones could still decide),
    /// else the first error, else null when both are values.
    /// </summary>
    public static CelValue? FirstProblem(CelValue left, CelValue right)
    {
        if (left.Kind == ValueKind.Missing)
        {
            return right.Kind == ValueKind.Missing ? MergeMissing(left, right) : left;
        }

        if (right.Kind == ValueKind.Missing || left.Kind == ValueKind.Error)
        {
            return right.Kind == ValueKind.Missing ? right : left;
        }

        return right.Kind == ValueKind.Error ? right : null;
    }

    public static string KindName(ValueKind kind) => kind switch
    {
        ValueKind.UInt => "uint",
        ValueKind.IpAddress => "ipaddress",
        _ => kind.ToString().ToLowerInvariant(),
    };

    public string TypeName => KindName(Kind);

    public bool IsNumber => Kind is ValueKind.Int or ValueKind.UInt or ValueKind.Double;

    /// <summary>CEL's heterogeneous equality: numbers compare by value across int, uint and double; other kinds never equal.</summary>
    public static bool ValuesEqual(CelValue left, CelValue right)
    {
        if (left.IsNumber && right.IsNumber)
        {
            return CompareNumbers(left, right) == 0;
        }

        if (left.Kind != right.Kind)
        {
            return false;
        }

        switch (left.Kind)
        {
            case ValueKind.Null:
                return true;
            case ValueKind.Bool:
            case ValueKind.Duration:
            case ValueKind.Timestamp:
                return left.bits == right.bits;
            case ValueKind.String:
                return string.Equals(left.AsString, right.AsString, StringComparison.Ordinal);
            case ValueKind.Bytes:
                return left.AsBytes.AsSpan().SequenceEqual(right.AsBytes);
            case ValueKind.IpAddress:
                return left.AsIpAddress.Equals(right.AsIpAddress);
            case ValueKind.List:
                var a = left.AsList;
                var b = right.AsList;
                if (a.Length != b.Length)
                {
                    return false;
                }

                for (var i = 0; i < a.Length; i++)
                {
                    if (!ValuesEqual(a[i], b[i]))
                    {
                        return false;
                    }
                }

                return true;
            case ValueKind.Map:
                var m = left.AsMap;
                var n = right.AsMap;
                if (m.Count != n.Count)
                {
                    return false;
                }

                foreach (var (key, value) in m)
                {
                    if (!n.TryGetValue(key, out var other) || !ValuesEqual(value, other))
                    {
                        return false;
                    }
                }

                return true;
            default:
                return false;
        }
    }

    /// <summary>Ordering for the orderable kinds; null when the two cannot be ordered (different kinds, or NaN).</summary>
    public static int? Compare(CelValue left, CelValue right)
    {
        if (left.IsNumber && right.IsNumber)
        {
            return CompareNumbers(left, right);
        }

        if (left.Kind != right.Kind)
        {
            return null;
        }

        return left.Kind switch
        {
            ValueKind.Bool or ValueKind.Duration or ValueKind.Timestamp => left.bits.CompareTo(right.bits),
            ValueKind.String => Math.Sign(string.CompareOrdinal(left.AsString, right.AsString)),
            ValueKind.Bytes => Math.Sign(left.AsBytes.AsSpan().SequenceCompareTo(right.AsBytes)),
            _ => null,
        };
    }

    /// <summary>Exact comparison across int, uint and double (no rounding through double for large integers); null for NaN.</summary>
    private static int? CompareNumbers(CelValue left, CelValue right)
    {
        switch (left.Kind, right.Kind)
        {
            case (ValueKind.Int, ValueKind.Int):
                return left.AsInt.CompareTo(right.AsInt);
            case (ValueKind.UInt, ValueKind.UInt):
                return left.AsUInt.CompareTo(right.AsUInt);
            case (ValueKind.Double, ValueKind.Double):
                return double.IsNaN(left.AsDouble) || double.IsNaN(right.AsDouble) ? null : left.AsDouble.CompareTo(right.AsDouble);
            case (ValueKind.Int, ValueKind.UInt):
                return left.AsInt < 0 ? -1 : ((ulong)left.AsInt).CompareTo(right.AsUInt);
            case (ValueKind.UInt, ValueKind.Int):
                return right.AsInt < 0 ? 1 : left.AsUInt.CompareTo((ulong)right.AsInt);
            case (ValueKind.Double, _):
                return -CompareToDouble(right, left.AsDouble);
            default:
                return CompareToDouble(left, right.AsDouble);
        }
    }

    private static int? CompareToDouble(CelValue integer, double number)
    {
        if (double.IsNaN(number))
        {
            return null;
        }

        if (integer.Kind == ValueKind.Int)
        {
            if (number < -9223372036854775808.0)
            {
                return 1;
            }

            if (number >= 9223372036854775808.0)
            {
                return -1;
            }

            var whole = (long)Math.Truncate(number);
            var byWhole = integer.AsInt.CompareTo(whole);
            return byWhole != 0 ? byWhole : 0.0.CompareTo(number - Math.Truncate(number));
        }

        if (number < 0)
        {
            return 1;
        }

        if (number >= 18446744073709551616.0)
        {
            return -1;
        }

        var unsignedWhole = (ulong)Math.Truncate(number);
        var byUnsigned = integer.AsUInt.CompareTo(unsignedWhole);
        return byUnsigned != 0 ? byUnsigned : 0.0.CompareTo(number - Math.Truncate(number));
    }

    /// <summary>A short rendering for error messages.</summary>
    public override string ToString() => Kind switch
    {
        ValueKind.Null => "null",
        ValueKind.Bool => AsBool ? "true" : "false",
        ValueKind.Int => AsInt.ToString(CultureInfo.InvariantCulture),
        ValueKind.UInt => AsUInt.ToString(CultureInfo.InvariantCulture) + "u",
        ValueKind.Double => AsDouble.ToString("R", CultureInfo.InvariantCulture),
        ValueKind.String => "\"" + AsString + "\"",
        ValueKind.Missing => "missing(" + string.Join(", ", MissingNames) + ")",
        ValueKind.Error => "error(" + ErrorMessage + ")",
        _ => TypeName,
    };
}
