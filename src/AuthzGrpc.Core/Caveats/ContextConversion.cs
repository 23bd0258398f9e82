using System.Globalization;

namespace AuthzGrpc.Core.Caveats;

/// <summary>
/// Turns a context value into a value of the parameter's declared type, as SpiceDB converts its structpb context:
/// integers only from integral numbers in range, timestamps from RFC 3339, durations from Go's syntax, bytes from base64.
/// </summary>
internal static class ContextConversion
{
    public static CelValue Convert(string parameter, CaveatType type, object? value)
    {
        var converted = TryConvert(type, value);
        return converted ?? throw CaveatException.InvalidContext(
            $"caveat context value for parameter '{parameter}' is {Describe(value)}, which cannot convert to its declared type {type}");
    }

    /// <summary>For <c>any</c>: the value as it is, integral numbers as int and the others as double.</summary>
    public static CelValue FromAny(object? value) => value switch
    {
        null => CelValue.Null,
        bool flag => CelValue.Bool(flag),
        long integer => CelValue.Int(integer),
        ulong unsigned => CelValue.UInt(unsigned),
        double number => CelValue.Double(number),
        string text => CelValue.String(text),
        IReadOnlyDictionary<string, object?> map => CelValue.Map(map.ToDictionary(p => p.Key, p => FromAny(p.Value), StringComparer.Ordinal)),
        IReadOnlyList<object?> list => CelValue.List(list.Select(FromAny).ToArray()),
        _ => CelValue.Null,
    };

    private static CelValue? TryConvert(CaveatType type, object? value)
    {
        switch (type.Kind)
        {
            case TypeKind.Any:
                return FromAny(value);
            case TypeKind.Int:
                return value switch
                {
                    long integer => CelValue.Int(integer),
                    double number when number == Math.Truncate(number) && number >= -9223372036854775808.0 && number < 9223372036854775808.0
                        => CelValue.Int((long)number),
                    _ => null,
                };
            case TypeKind.UInt:
                return value switch
                {
                    long integer when integer >= 0 => CelValue.UInt((ulong)integer),
                    ulong unsigned => CelValue.UInt(unsigned),
                    double number when number == Math.Truncate(number) && number >= 0 && number < 18446744073709551616.0
                        => CelValue.UInt((ulong)number),
                    _ => null,
                };
            case TypeKind.Double:
                return value switch
                {
                    long integer => CelValue.Double(integer),
                    ulong unsigned => CelValue.Double(unsigned),
                    double number => CelValue.Double(number),
                    _ => null,
                };
            case TypeKind.Bool:
                return value is bool flag ? CelValue.Bool(flag) : null;
            case TypeKind.String:
                return value is string text ? CelValue.String(text) : null;
            case TypeKind.Bytes:
                return value is string base64 && TimeText.TryParseBase64(base64) is { } bytes ? CelValue.Bytes(bytes) : null;
            case TypeKind.Duration:
                return value is string durationText && TimeText.TryParseDuration(durationText) is { } duration ? CelValue.Duration(duration) : null;
            case TypeKind.Timestamp:
                return value is string timestampText && TimeText.TryParseTimestamp(timestampText) is { } timestamp ? CelValue.Timestamp(timestamp) : null;
            case TypeKind.IpAddress:
                return value is string addressText && IpAddressValue.TryParse(addressText) is { } address ? CelValue.IpAddress(address) : null;
            case TypeKind.List:
                if (value is not IReadOnlyList<object?> list || value is string)
                {
                    return null;
                }

                var elements = new CelValue[list.Count];
                for (var i = 0; i < elements.Length; i++)
                {
                    if (TryConvert(type.ElementType!, list[i]) is not { } element)
                    {
                        return null;
                    }

                    elements[i] = element;
                }

                return CelValue.List(elements);
            case TypeKind.Map:
                if (value is not IReadOnlyDictionary<string, object?> map)
                {
                    return null;
                }

                var entries = new Dictionary<string, CelValue>(map.Count, StringComparer.Ordinal);
                foreach (var (key, item) in map)
                {
                    if (TryConvert(type.ElementType!, item) is not { } entry)
                    {
                        return null;
                    }

                    entries[key] = entry;
                }

                return CelValue.Map(entries);
            default:
                return null;
        }
    }

    private static string Describe(object? value) => value switch
    {
        null => "null",
        bool flag => flag ? "the bool true" : "the bool false",
        long or ulong or double => "the number " + System.Convert.ToString(value, CultureInfo.InvariantCulture),
        string text => text.Length <= 40 ? $"the string \"{text}\"" : "a string",
        IReadOnlyDictionary<string, object?> => "an object",
        IReadOnlyList<object?> => "an array",
        _ => "a value",
    };
}
