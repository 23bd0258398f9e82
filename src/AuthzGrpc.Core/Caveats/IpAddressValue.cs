using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace AuthzGrpc.Core.Caveats;

/// <summary>
/// SpiceDB's <c>ipaddress</c> value. Parsing is strict (dotted quad for IPv4, no zone) because .NET's
/// <see cref="IPAddress.TryParse(string, out IPAddress)"/> also takes forms such as "10" or "0x0a000001" that Go's
/// netip.ParseAddr refuses, and a caveat must not widen what an address means.
/// </summary>
internal sealed class IpAddressValue : IEquatable<IpAddressValue>
{
    private readonly byte[] bytes;

    private IpAddressValue(IPAddress address)
    {
        Address = address;
        bytes = address.GetAddressBytes();
    }

    public IPAddress Address { get; }

    public static IpAddressValue? TryParse(string text)
    {
        if (text.Length == 0 || text.Length > 64 || text.Contains('%', StringComparison.Ordinal))
        {
            return null;
        }

        if (text.Contains(':', StringComparison.Ordinal))
        {
            return IPAddress.TryParse(text, out var v6) && v6.AddressFamily == AddressFamily.InterNetworkV6 ? new(v6) : null;
        }

        var parts = text.Split('.');
        if (parts.Length != 4)
        {
            return null;
        }

        var octets = new byte[4];
        for (var i = 0; i < 4; i++)
        {
            var part = parts[i];
            // No leading zeros: "010" is octal in some parsers and refused by Go's netip.
            if (part.Length is 0 or > 3 || (part.Length > 1 && part[0] == '0') || !part.All(char.IsAsciiDigit))
            {
                return null;
            }

            var value = int.Parse(part, CultureInfo.InvariantCulture);
            if (value > 255)
            {
                return null;
            }

            octets[i] = (byte)value;
        }

        return new(new IPAddress(octets));
    }

    /// <summary>Whether the address lies in <paramref name="cidr"/> ("10.0.0.0/8"); null when the CIDR is malformed. Families never mix.</summary>
    public bool? InCidr(string cidr)
    {
        var slash = cidr.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0)
        {
            return null;
        }

        var network = TryParse(cidr[..slash]);
        var lengthText = cidr[(slash + 1)..];
        if (network is null || lengthText.Length is 0 or > 3 || !lengthText.All(char.IsAsciiDigit))
        {
            return null;
        }

        var prefixLength = int.Parse(lengthText, CultureInfo.InvariantCulture);
        if (prefixLength > network.bytes.Length * 8)
        {
            return null;
        }

        if (network.bytes.Length != bytes.Length)
        {
            return false;
        }

        var fullBytes = prefixLength / 8;
        if (!bytes.AsSpan(0, fullBytes).SequenceEqual(network.bytes.AsSpan(0, fullBytes)))
        {
            return false;
        }

        var remainingBits = prefixLength % 8;
        if (remainingBits == 0)
        {
            return true;
        }

        var mask = (byte)(0xFF << (8 - remainingBits));
        return (bytes[fullBytes] & mask) == (network.bytes[fullBytes] & mask);
    }

    public bool Equals(IpAddressValue? other) => other is not null && bytes.AsSpan().SequenceEqual(other.bytes);

    public override bool Equals(object? obj) => Equals(obj as IpAddressValue);

    public override int GetHashCode() => Address.GetHashCode();

    public override string ToString() => Address.ToString();
}
