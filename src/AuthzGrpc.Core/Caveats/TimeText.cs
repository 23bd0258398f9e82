using System.Globalization;
using System.Text;

namespace AuthzGrpc.Core.Caveats;

/// <summary>
/// The text forms of timestamps (RFC 3339, as protobuf's Timestamp JSON) and durations (Go's time.ParseDuration, as
/// SpiceDB reads a duration from a context). Precision is .NET's tick, 100 ns: finer digits are truncated.
/// </summary>
internal static class TimeText
{
    /// <summary>CEL's timestamp range.</summary>
    public static readonly DateTime MinTimestamp = new(1, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    public static readonly DateTime MaxTimestamp = new DateTime(9999, 12, 31, 23, 59, 59, 999, DateTimeKind.Utc).AddTicks(9999);

    /// <summary>
    /// RFC 3339 as protobuf reads it: <c>YYYY-MM-DDThh:mm:ss[.fraction](Z|±hh:mm)</c>. Read by hand rather than by a
    /// regular expression because every evaluation converts its timestamp parameters, and this allocates nothing.
    /// </summary>
    public static DateTime? TryParseTimestamp(string text)
    {
        var span = text.AsSpan();
        if (span.Length < 20 || span[4] != '-' || span[7] != '-' || span[10] is not ('T' or 't') || span[13] != ':' || span[16] != ':'
            || !TryDigits(span, 0, 4, out var year) || !TryDigits(span, 5, 2, out var month) || !TryDigits(span, 8, 2, out var day)
            || !TryDigits(span, 11, 2, out var hour) || !TryDigits(span, 14, 2, out var minute) || !TryDigits(span, 17, 2, out var second))
        {
            return null;
        }

        var position = 19;
        var fractionTicks = 0L;
        if (span[position] == '.')
        {
            position++;
            var digits = 0;
            while (position < span.Length && char.IsAsciiDigit(span[position]))
            {
                // Ticks are 100 ns: the first 7 digits count, the rest are truncated.
                if (digits < 7)
                {
                    fractionTicks = (fractionTicks * 10) + (span[position] - '0');
                }

                digits++;
                position++;
            }

            if (digits is 0 or > 9)
            {
                return null;
            }

            for (; digits < 7; digits++)
            {
                fractionTicks *= 10;
            }
        }

        var offset = TimeSpan.Zero;
        var zone = span[position..];
        if (zone is not ("Z" or "z"))
        {
            if (zone.Length != 6 || zone[0] is not ('+' or '-') || zone[3] != ':'
                || !TryDigits(zone, 1, 2, out var offsetHours) || !TryDigits(zone, 4, 2, out var offsetMinutes)
                || offsetHours > 23 || offsetMinutes > 59)
            {
                return null;
            }

            offset = new TimeSpan(offsetHours, offsetMinutes, 0);
            if (zone[0] == '-')
            {
                offset = -offset;
            }
        }

        if (year == 0 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month) || hour > 23 || minute > 59 || second > 59)
        {
            return null;
        }

        var localTicks = new DateTime(year, month, day, hour, minute, second, DateTimeKind.Unspecified).Ticks + fractionTicks;
        var utcTicks = localTicks - offset.Ticks;
        return utcTicks < MinTimestamp.Ticks || utcTicks > MaxTimestamp.Ticks ? null : new DateTime(utcTicks, DateTimeKind.Utc);
    }

    private static bool TryDigits(ReadOnlySpan<char> text, int start, int count, out int value)
    {
        value = 0;
        for (var i = start; i < start + count; i++)
        {
            if (!char.IsAsciiDigit(text[i]))
            {
                return false;
            }

            value = (value * 10) + (text[i] - '0');
        }

        return true;
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
