using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace AuthzGrpc.Core.Caveats;

/// <summary>How a function may be called: <c>f(x, y)</c>, <c>x.f(y)</c>, or both.</summary>
[Flags]
internal enum CallStyle
{
    Function = 1,
    Method = 2,
    Both = Function | Method,
}

/// <summary>An implementation; unary functions ignore <c>right</c>. Returns an error value rather than throwing.</summary>
internal delegate CelValue Implementation(CelValue left, CelValue right, Evaluation evaluation);

/// <summary>One signature of a function or operator; the receiver of a method call is its first parameter.</summary>
internal sealed record Overload(string Name, CallStyle Style, ValueKind[] Parameters, CaveatType Result, Implementation Invoke)
{
    public bool MatchesValues(CelValue left, CelValue right) =>
        Parameters[0] == left.Kind && (Parameters.Length == 1 || Parameters[1] == right.Kind);
}

/// <summary>
/// The functions and operators of the subset. One table serves both the type checker (which overloads can apply to the
/// static types) and evaluation (which applies to the runtime kinds when a type is <c>any</c>).
/// Costs: strings and bytes 1 unit per 16 code units, lists 1 per element, regular expressions 1 per character of input.
/// </summary>
internal static class Functions
{
    public const int MaxPatternLength = 256;

    private static readonly Dictionary<string, Overload[]> ByName = Build().GroupBy(o => o.Name, StringComparer.Ordinal)
        .ToDictionary(g => g.Key, g => g.ToArray(), StringComparer.Ordinal);

    public static Overload[]? Find(string name) => ByName.GetValueOrDefault(name);

    public static string Display(string name) => name switch
    {
        "_+_" => "+",
        "_-_" => "-",
        "_*_" => "*",
        "_/_" => "/",
        "_%_" => "%",
        "-_" => "unary -",
        "!_" => "!",
        _ => name,
    };

    public static CelValue Fail(string message) => CelValue.Error(message);

    public static Regex? TryCompilePattern(string pattern, out string? error)
    {
        if (pattern.Length > MaxPatternLength)
        {
            error = $"regular expression is {pattern.Length} characters, over the limit of {MaxPatternLength}";
            return null;
        }

        try
        {
            error = null;
            // NonBacktracking: matching time is linear in the input, whatever the pattern.
            return new Regex(pattern, RegexOptions.NonBacktracking | RegexOptions.CultureInvariant);
        }
        catch (ArgumentException invalid)
        {
            error = $"invalid regular expression: {invalid.Message}";
            return null;
        }
        catch (NotSupportedException unsupported)
        {
            error = $"unsupported regular expression: {unsupported.Message}";
            return null;
        }
    }

    public static CelValue Matches(Regex regex, string input, Evaluation evaluation)
    {
        evaluation.Charge(input.Length);
        return CelValue.Bool(regex.IsMatch(input));
    }

    private static IEnumerable<Overload> Build()
    {
        // One- and two-letter kinds keep each signature on one line of the table.
        const ValueKind I = ValueKind.Int, U = ValueKind.UInt, D = ValueKind.Double, S = ValueKind.String, B = ValueKind.Bytes,
            Bo = ValueKind.Bool, Du = ValueKind.Duration, T = ValueKind.Timestamp, L = ValueKind.List, M = ValueKind.Map, Ip = ValueKind.IpAddress;
        var f = CallStyle.Function;
        Overload Define(string name, CallStyle style, ValueKind[] parameters, CaveatType result, Implementation invoke) => new(name, style, parameters, result, invoke);

        // Arithmetic: integers are checked, as CEL requires; doubles follow IEEE 754.
        yield return Define("_+_", f, [I, I], CaveatType.Int, (a, b, _) => AddInts(a.AsInt, b.AsInt));
        yield return Define("_+_", f, [U, U], CaveatType.UInt, (a, b, _) => a.AsUInt + b.AsUInt < a.AsUInt ? Fail("unsigned integer overflow") : CelValue.UInt(a.AsUInt + b.AsUInt));
        yield return Define("_+_", f, [D, D], CaveatType.Double, (a, b, _) => CelValue.Double(a.AsDouble + b.AsDouble));
        yield return Define("_+_", f, [S, S], CaveatType.String, (a, b, e) =>
        {
            e.ChargeLength(a.AsString.Length + b.AsString.Length);
            return CelValue.String(a.AsString + b.AsString);
        });
        yield return Define("_+_", f, [B, B], CaveatType.Bytes, (a, b, e) =>
        {
            e.ChargeLength(a.AsBytes.Length + b.AsBytes.Length);
            return CelValue.Bytes([.. a.AsBytes, .. b.AsBytes]);
        });
        yield return Define("_+_", f, [L, L], CaveatType.List(CaveatType.Any), (a, b, e) =>
        {
            e.Charge(a.AsList.Length + b.AsList.Length);
            return CelValue.List([.. a.AsList, .. b.AsList]);
        });
        yield return Define("_+_", f, [T, Du], CaveatType.Timestamp, (a, b, _) => AddToTimestamp(a.AsTimestamp, b.AsDuration.Ticks));
        yield return Define("_+_", f, [Du, T], CaveatType.Timestamp, (a, b, _) => AddToTimestamp(b.AsTimestamp, a.AsDuration.Ticks));
        yield return Define("_+_", f, [Du, Du], CaveatType.Duration, (a, b, _) => AddDurations(a.AsDuration, b.AsDuration));
        yield return Define("_-_", f, [I, I], CaveatType.Int, (a, b, _) => SubtractInts(a.AsInt, b.AsInt));
        yield return Define("_-_", f, [U, U], CaveatType.UInt, (a, b, _) => a.AsUInt < b.AsUInt ? Fail("unsigned integer overflow") : CelValue.UInt(a.AsUInt - b.AsUInt));
        yield return Define("_-_", f, [D, D], CaveatType.Double, (a, b, _) => CelValue.Double(a.AsDouble - b.AsDouble));
        yield return Define("_-_", f, [T, T], CaveatType.Duration, (a, b, _) => CelValue.Duration(a.AsTimestamp - b.AsTimestamp));
        yield return Define("_-_", f, [T, Du], CaveatType.Timestamp, (a, b, _) => AddToTimestamp(a.AsTimestamp, -(decimal)b.AsDuration.Ticks));
        yield return Define("_-_", f, [Du, Du], CaveatType.Duration, (a, b, _) => AddDurations(a.AsDuration, -b.AsDuration));
        yield return Define("_*_", f, [I, I], CaveatType.Int, (a, b, _) => MultiplyInts(a.AsInt, b.AsInt));
        yield return Define("_*_", f, [U, U], CaveatType.UInt, (a, b, _) => Math.BigMul(a.AsUInt, b.AsUInt, out var low) != 0 ? Fail("unsigned integer overflow") : CelValue.UInt(low));
        yield return Define("_*_", f, [D, D], CaveatType.Double, (a, b, _) => CelValue.Double(a.AsDouble * b.AsDouble));
        yield return Define("_/_", f, [I, I], CaveatType.Int, (a, b, _) => b.AsInt == 0 ? Fail("division by zero")
            : a.AsInt == long.MinValue && b.AsInt == -1 ? Fail("integer overflow") : CelValue.Int(a.AsInt / b.AsInt));
        yield return Define("_/_", f, [U, U], CaveatType.UInt, (a, b, _) => b.AsUInt == 0 ? Fail("division by zero") : CelValue.UInt(a.AsUInt / b.AsUInt));
        yield return Define("_/_", f, [D, D], CaveatType.Double, (a, b, _) => CelValue.Double(a.AsDouble / b.AsDouble));
        yield return Define("_%_", f, [I, I], CaveatType.Int, (a, b, _) => b.AsInt == 0 ? Fail("modulus by zero")
            : a.AsInt == long.MinValue && b.AsInt == -1 ? Fail("integer overflow") : CelValue.Int(a.AsInt % b.AsInt));
        yield return Define("_%_", f, [U, U], CaveatType.UInt, (a, b, _) => b.AsUInt == 0 ? Fail("modulus by zero") : CelValue.UInt(a.AsUInt % b.AsUInt));
        yield return Define("-_", f, [I], CaveatType.Int, (a, _, _) => a.AsInt == long.MinValue ? Fail("integer overflow") : CelValue.Int(-a.AsInt));
        yield return Define("-_", f, [D], CaveatType.Double, (a, _, _) => CelValue.Double(-a.AsDouble));
        yield return Define("-_", f, [Du], CaveatType.Duration, (a, _, _) => a.AsDuration == TimeSpan.MinValue ? Fail("duration overflow") : CelValue.Duration(-a.AsDuration));
        yield return Define("!_", f, [Bo], CaveatType.Bool, (a, _, _) => CelValue.Bool(!a.AsBool));

        // size: code points for strings, as CEL counts them.
        yield return Define("size", CallStyle.Both, [S], CaveatType.Int, (a, _, e) =>
        {
            e.ChargeLength(a.AsString.Length);
            return CelValue.Int(a.AsString.EnumerateRunes().Count());
        });
        yield return Define("size", CallStyle.Both, [B], CaveatType.Int, (a, _, _) => CelValue.Int(a.AsBytes.Length));
        yield return Define("size", CallStyle.Both, [L], CaveatType.Int, (a, _, _) => CelValue.Int(a.AsList.Length));
        yield return Define("size", CallStyle.Both, [M], CaveatType.Int, (a, _, _) => CelValue.Int(a.AsMap.Count));

        // Conversions.
        yield return Define("int", f, [I], CaveatType.Int, (a, _, _) => a);
        yield return Define("int", f, [U], CaveatType.Int, (a, _, _) => a.AsUInt > long.MaxValue ? Fail("integer overflow") : CelValue.Int((long)a.AsUInt));
        yield return Define("int", f, [D], CaveatType.Int, (a, _, _) => DoubleToInt(a.AsDouble));
        yield return Define("int", f, [S], CaveatType.Int, (a, _, _) => long.TryParse(a.AsString, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v)
            ? CelValue.Int(v) : Fail($"cannot convert string \"{a.AsString}\" to int"));
        yield return Define("int", f, [T], CaveatType.Int, (a, _, _) => CelValue.Int((long)Math.Floor((a.AsTimestamp - DateTime.UnixEpoch).TotalSeconds)));
        yield return Define("uint", f, [U], CaveatType.UInt, (a, _, _) => a);
        yield return Define("uint", f, [I], CaveatType.UInt, (a, _, _) => a.AsInt < 0 ? Fail("unsigned integer overflow") : CelValue.UInt((ulong)a.AsInt));
        yield return Define("uint", f, [D], CaveatType.UInt, (a, _, _) => DoubleToUInt(a.AsDouble));
        yield return Define("uint", f, [S], CaveatType.UInt, (a, _, _) => ulong.TryParse(a.AsString, NumberStyles.None, CultureInfo.InvariantCulture, out var v)
            ? CelValue.UInt(v) : Fail($"cannot convert string \"{a.AsString}\" to uint"));
        yield return Define("double", f, [D], CaveatType.Double, (a, _, _) => a);
        yield return Define("double", f, [I], CaveatType.Double, (a, _, _) => CelValue.Double(a.AsInt));
        yield return Define("double", f, [U], CaveatType.Double, (a, _, _) => CelValue.Double(a.AsUInt));
        yield return Define("double", f, [S], CaveatType.Double, (a, _, _) => double.TryParse(a.AsString, NumberStyles.Float, CultureInfo.InvariantCulture, out var v)
            ? CelValue.Double(v) : Fail($"cannot convert string \"{a.AsString}\" to double"));
        yield return Define("string", f, [S], CaveatType.String, (a, _, _) => a);
        yield return Define("string", f, [I], CaveatType.String, (a, _, _) => CelValue.String(a.AsInt.ToString(CultureInfo.InvariantCulture)));
        yield return Define("string", f, [U], CaveatType.String, (a, _, _) => CelValue.String(a.AsUInt.ToString(CultureInfo.InvariantCulture)));
        yield return Define("string", f, [D], CaveatType.String, (a, _, _) => CelValue.String(a.AsDouble.ToString("R", CultureInfo.InvariantCulture)));
        yield return Define("string", f, [Bo], CaveatType.String, (a, _, _) => CelValue.String(a.AsBool ? "true" : "false"));
        yield return Define("string", f, [B], CaveatType.String, (a, _, _) => TimeText.TryDecodeUtf8(a.AsBytes) is { } text
            ? CelValue.String(text) : Fail("bytes are not valid UTF-8"));
        yield return Define("string", f, [T], CaveatType.String, (a, _, _) => CelValue.String(TimeText.FormatTimestamp(a.AsTimestamp)));
        yield return Define("string", f, [Du], CaveatType.String, (a, _, _) => CelValue.String(TimeText.FormatDuration(a.AsDuration)));
        yield return Define("string", f, [Ip], CaveatType.String, (a, _, _) => CelValue.String(a.AsIpAddress.ToString()));
        yield return Define("bytes", f, [B], CaveatType.Bytes, (a, _, _) => a);
        yield return Define("bytes", f, [S], CaveatType.Bytes, (a, _, _) => CelValue.Bytes(Encoding.UTF8.GetBytes(a.AsString)));
        yield return Define("timestamp", f, [T], CaveatType.Timestamp, (a, _, _) => a);
        yield return Define("timestamp", f, [S], CaveatType.Timestamp, (a, _, _) => TimeText.TryParseTimestamp(a.AsString) is { } t
            ? CelValue.Timestamp(t) : Fail($"invalid timestamp \"{a.AsString}\" (expected RFC 3339)"));
        yield return Define("timestamp", f, [I], CaveatType.Timestamp, (a, _, _) =>
            a.AsInt is >= -62135596800L and <= 253402300799L
                ? CelValue.Timestamp(DateTime.UnixEpoch.AddSeconds(a.AsInt)) : Fail("timestamp out of range"));
        yield return Define("duration", f, [Du], CaveatType.Duration, (a, _, _) => a);
        yield return Define("duration", f, [S], CaveatType.Duration, (a, _, _) => TimeText.TryParseDuration(a.AsString) is { } d
            ? CelValue.Duration(d) : Fail($"invalid duration \"{a.AsString}\""));

        // Strings: ordinal, as CEL compares code points.
        yield return Define("contains", CallStyle.Method, [S, S], CaveatType.Bool, (a, b, e) =>
        {
            e.ChargeLength(a.AsString.Length);
            return CelValue.Bool(a.AsString.Contains(b.AsString, StringComparison.Ordinal));
        });
        yield return Define("startsWith", CallStyle.Method, [S, S], CaveatType.Bool, (a, b, e) =>
        {
            e.ChargeLength(b.AsString.Length);
            return CelValue.Bool(a.AsString.StartsWith(b.AsString, StringComparison.Ordinal));
        });
        yield return Define("endsWith", CallStyle.Method, [S, S], CaveatType.Bool, (a, b, e) =>
        {
            e.ChargeLength(b.AsString.Length);
            return CelValue.Bool(a.AsString.EndsWith(b.AsString, StringComparison.Ordinal));
        });
        yield return Define("matches", CallStyle.Both, [S, S], CaveatType.Bool, (a, b, e) =>
        {
            // A pattern only known at runtime is compiled per call, and pays for it.
            e.Charge(b.AsString.Length);
            var regex = TryCompilePattern(b.AsString, out var error);
            return regex is null ? Fail(error!) : Matches(regex, a.AsString, e);
        });

        // Timestamp getters, in UTC or the named zone; month, day of month/year are 0-based as in CEL.
        foreach (var (name, part) in TimestampParts())
        {
            yield return Define(name, CallStyle.Method, [T], CaveatType.Int, (a, _, _) => CelValue.Int(part(a.AsTimestamp)));
            yield return Define(name, CallStyle.Method, [T, S], CaveatType.Int, (a, b, _) => TimeText.TryParseZone(b.AsString) is { } zone
                ? CelValue.Int(part(TimeZoneInfo.ConvertTimeFromUtc(a.AsTimestamp, zone)))
                : Fail($"unknown time zone \"{b.AsString}\""));
        }

        yield return Define("getHours", CallStyle.Method, [Du], CaveatType.Int, (a, _, _) => CelValue.Int((long)a.AsDuration.TotalHours));
        yield return Define("getMinutes", CallStyle.Method, [Du], CaveatType.Int, (a, _, _) => CelValue.Int((long)a.AsDuration.TotalMinutes));
        yield return Define("getSeconds", CallStyle.Method, [Du], CaveatType.Int, (a, _, _) => CelValue.Int((long)a.AsDuration.TotalSeconds));
        yield return Define("getMilliseconds", CallStyle.Method, [Du], CaveatType.Int, (a, _, _) => CelValue.Int((long)a.AsDuration.TotalMilliseconds));

        // SpiceDB's ipaddress extension.
        yield return Define("ipaddress", f, [S], CaveatType.IpAddress, (a, _, _) => IpAddressValue.TryParse(a.AsString) is { } ip
            ? CelValue.IpAddress(ip) : Fail($"invalid ip address \"{a.AsString}\""));
        yield return Define("in_cidr", CallStyle.Method, [Ip, S], CaveatType.Bool, (a, b, _) => a.AsIpAddress.InCidr(b.AsString) is { } inside
            ? CelValue.Bool(inside) : Fail($"invalid CIDR \"{b.AsString}\""));
    }

    private static IEnumerable<(string Name, Func<DateTime, long> Part)> TimestampParts() =>
    [
        ("getFullYear", t => t.Year),
        ("getMonth", t => t.Month - 1),
        ("getDayOfMonth", t => t.Day - 1),
        ("getDate", t => t.Day),
        ("getDayOfWeek", t => (long)t.DayOfWeek),
        ("getDayOfYear", t => t.DayOfYear - 1),
        ("getHours", t => t.Hour),
        ("getMinutes", t => t.Minute),
        ("getSeconds", t => t.Second),
        ("getMilliseconds", t => t.Millisecond),
    ];

    // Overflow is detected without exceptions: evaluation stays allocation-free on the common path.
    private static CelValue AddInts(long a, long b)
    {
        var sum = unchecked(a + b);
        return ((a ^ sum) & (b ^ sum)) < 0 ? Fail("integer overflow") : CelValue.Int(sum);
    }

    private static CelValue SubtractInts(long a, long b)
    {
        var difference = unchecked(a - b);
        return ((a ^ b) & (a ^ difference)) < 0 ? Fail("integer overflow") : CelValue.Int(difference);
    }

    private static CelValue MultiplyInts(long a, long b)
    {
        var high = Math.BigMul(a, b, out var low);
        return high != (low >> 63) ? Fail("integer overflow") : CelValue.Int(low);
    }

    private static CelValue AddDurations(TimeSpan a, TimeSpan b)
    {
        var ticks = (decimal)a.Ticks + b.Ticks;
        return ticks is < long.MinValue or > long.MaxValue ? Fail("duration overflow") : CelValue.Duration(new TimeSpan((long)ticks));
    }

    private static CelValue AddToTimestamp(DateTime timestamp, decimal durationTicks)
    {
        var ticks = timestamp.Ticks + durationTicks;
        return ticks < TimeText.MinTimestamp.Ticks || ticks > TimeText.MaxTimestamp.Ticks
            ? Fail("timestamp out of range")
            : CelValue.Timestamp(new DateTime((long)ticks, DateTimeKind.Utc));
    }

    private static CelValue DoubleToInt(double value) =>
        double.IsNaN(value) || value <= -9223372036854777856.0 || value >= 9223372036854775808.0
            ? Fail("integer overflow")
            : CelValue.Int((long)Math.Truncate(value));

    private static CelValue DoubleToUInt(double value) =>
        double.IsNaN(value) || value <= -1.0 || value >= 18446744073709551616.0
            ? Fail("unsigned integer overflow")
            : CelValue.UInt((ulong)Math.Truncate(value));
}
