using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace AuthzGrpc.Core.Caveats;

/// <summary>
/// The text forms of timestamps (RFC 3339, as protobuf's Timestamp JSON) and durations (Go's time.ParseDuration, as
/// SpiceDB reads a duration from a context). Precision is .NET's tick, 100 ns: finer digits are truncated.
/// </summary>
internal static partial class TimeText
{
    /// <summary>CEL's timestamp range.</summary>
    public static readonly DateTime MinTimestamp = new(1, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    public static readonly DateTime MaxTimestamp = new DateTime(9999, 12, 31, 23, 59, 59, 999, DateTimeKind.Utc).AddTicks(9999);

    [GeneratedRegex(@"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$", RegexOptions.CultureInvariant)]
    private static partial Regex Rfc3339();

    public static DateTime? TryParseTimestamp(string text)
    {
        var match = Rfc3339().Match(text);
        if (!match.Success)
        {
            return null;
        }

        int Part(int group) => int.Parse(match.Groups[group].ValueSpan, CultureInfo.InvariantCulture);
        var (year, month, day, hour, minute, second) = (Part(1), Part(2), Part(3), Part(4), Part(5), Part(6));
        if (month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year == 0 ? 1 : year, month) || year == 0
            || hour > 23 || minute > 59 || second > 59)
        {
            return null;
        }

        var ticks = 0L;
        if (match.Groups[7].Success)
        {
            var digits = match.Groups[7].Value.PadRight(7, '0')[..7];
            ticks = long.Parse(digits, CultureInfo.InvariantCulture);
        }

        var offset = TimeSpan.Zero;
        if (match.Groups[9].Success)
        {
            var (offsetHours, offsetMinutes) = (Part(10), Part(11));
            if (offsetHours > 23 || offsetMinutes > 59)
            {
                return null;
            }

            offset = new TimeSpan(offsetHours, offsetMinutes, 0);
            if (match.Groups[9].ValueSpan[0] == '-')
            {
                offset = -offset;
            }
        }

        var local = new DateTime(year, month, day, hour, minute, second, DateTimeKind.Unspecified).AddTicks(ticks);
        var utcTicks = local.Ticks - offset.Ticks;
        return utcTicks < MinTimestamp.Ticks || utcTicks > MaxTimestamp.Ticks ? null : new DateTime(utcTicks, DateTimeKind.Utc);
    }

    /// <summary>RFC 3339 in UTC with as many fraction digits as needed, as protobuf writes a Timestamp.</summary>
    public static string FormatTimestamp(DateTime utc)
    {
        var text = utc.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff", CultureInfo.InvariantCulture).TrimEnd('0').TrimEnd('.');
        return text + "Z";
    }

    /// <summary>Go's time.ParseDuration: "300ms", "-1.5h", "1h30m"; units ns us µs ms s m h; bounded by int64 nanoseconds like Go.</summary>
    public static TimeSpan? TryParseDuration(string text)
    {
        var position = 0;
        var negative = false;
        if (position < text.Length && text[position] is '-' or '+')
        {
            negative = text[position] == '-';
            position++;
        }

        if (text.AsSpan(position) is "0")
        {
            return TimeSpan.Zero;
        }

        if (position == text.Length)
        {
            return null;
        }

        decimal totalNanoseconds = 0;
        while (position < text.Length)
        {
            var numberStart = position;
            while (position < text.Length && (char.IsAsciiDigit(text[position]) || text[position] == '.'))
            {
                position++;
            }

            var number = text.AsSpan(numberStart, position - numberStart);
            if (number.Length == 0 || number is "." || number.IndexOf('.') != number.LastIndexOf('.') || number.Length > 30
                || !decimal.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var amount))
            {
                return null;
            }

            var unitStart = position;
            while (position < text.Length && !char.IsAsciiDigit(text[position]) && text[position] != '.')
            {
                position++;
            }

            decimal? unit = text.AsSpan(unitStart, position - unitStart) switch
            {
                "ns" => 1m,
                "us" or "µs" or "μs" => 1_000m,
                "ms" => 1_000_000m,
                "s" => 1_000_000_000m,
                "m" => 60_000_000_000m,
                "h" => 3_600_000_000_000m,
                _ => null,
            };
            if (unit is null)
            {
                return null;
            }

            totalNanoseconds += amount * unit.Value;
            if (totalNanoseconds > long.MaxValue)
            {
                return null;
            }
        }

        var ticks = (long)(totalNanoseconds / 100m);
        return new TimeSpan(negative ? -ticks : ticks);
    }

    /// <summary>CEL's string(duration): seconds with the fraction needed, e.g. "5400s", "1.5s".</summary>
    public static string FormatDuration(TimeSpan duration)
    {
        var seconds = (decimal)duration.Ticks / TimeSpan.TicksPerSecond;
        return seconds.ToString("0.#######", CultureInfo.InvariantCulture) + "s";
    }

    /// <summary>A fixed offset ("+01:00", "-0530" is refused), "UTC"/"Z", or an IANA zone name known to the host.</summary>
    public static TimeZoneInfo? TryParseZone(string text)
    {
        if (text is "UTC" or "Z" or "utc")
        {
            return TimeZoneInfo.Utc;
        }

        if (text.Length == 6 && text[0] is '+' or '-' && text[3] == ':'
            && int.TryParse(text.AsSpan(1, 2), NumberStyles.None, CultureInfo.InvariantCulture, out var hours)
            && int.TryParse(text.AsSpan(4, 2), NumberStyles.None, CultureInfo.InvariantCulture, out var minutes)
            && hours <= 14 && minutes <= 59)
        {
            var offset = new TimeSpan(hours, minutes, 0);
            return TimeZoneInfo.CreateCustomTimeZone(text, text[0] == '-' ? -offset : offset, text, text);
        }

        return text.Length <= 64 && TimeZoneInfo.TryFindSystemTimeZoneById(text, out var zone) ? zone : null;
    }

    /// <summary>Base64 as SpiceDB's bytes context values are written (standard alphabet, padding optional).</summary>
    public static byte[]? TryParseBase64(string text)
    {
        var padded = (text.Length % 4) switch
        {
            2 => text + "==",
            3 => text + "=",
            _ => text,
        };
        var buffer = new byte[padded.Length / 4 * 3];
        return Convert.TryFromBase64String(padded, buffer, out var written) ? buffer[..written] : null;
    }

    public static string? TryDecodeUtf8(byte[] bytes)
    {
        try
        {
            return new UTF8Encoding(false, true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
    }
}
