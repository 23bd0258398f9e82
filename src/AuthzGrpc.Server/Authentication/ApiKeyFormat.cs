using System.Buffers.Text;
using System.Security.Cryptography;
using AuthzGrpc.Storage;

namespace AuthzGrpc.Server.Authentication;

/// <summary>
/// The shape of API keys, <c>azk_&lt;keyId&gt;_&lt;secret&gt;</c>: the key id (12 of <c>a-z 0-9</c> when generated; 1 to 32
/// accepted) names the key publicly; the secret (32 random bytes, base64url: 43 characters when generated; 32 to 128 of
/// <c>A-Z a-z 0-9 _ -</c> accepted) proves it. Only the SHA-256 of the secret is stored: a secret of 256 random bits
/// needs no slow hash, and a stolen database holds nothing that authenticates.
/// </summary>
internal static class ApiKeyFormat
{
    /// <summary>Every key starts with this.</summary>
    public const string Prefix = "azk_";

    /// <summary>The length of a generated key id.</summary>
    public const int KeyIdLength = 12;

    /// <summary>The longest key id accepted.</summary>
    public const int MaxKeyIdLength = 32;

    /// <summary>The shortest secret accepted (a configured bootstrap key must have at least this many characters).</summary>
    public const int MinSecretLength = 32;

    /// <summary>The longest secret accepted.</summary>
    public const int MaxSecretLength = 128;

    /// <summary>The longest <c>authorization</c> value looked at.</summary>
    public const int MaxKeyLength = 4 + MaxKeyIdLength + 1 + MaxSecretLength;

    private const int SecretBytes = 32;
    private const string KeyIdAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789";

    /// <summary>A new key from <see cref="RandomNumberGenerator"/>: the whole key (shown once), its id and the hash to store.</summary>
    public static (string Key, string KeyId, string KeyHash) Generate()
    {
        var keyId = RandomNumberGenerator.GetString(KeyIdAlphabet, KeyIdLength);
        Span<byte> random = stackalloc byte[SecretBytes];
        RandomNumberGenerator.Fill(random);
        var secret = Base64Url.EncodeToString(random);
        CryptographicOperations.ZeroMemory(random);
        return (Prefix + keyId + "_" + secret, keyId, Hash(secret));
    }

    /// <summary>Splits <c>azk_&lt;keyId&gt;_&lt;secret&gt;</c>; false when <paramref name="key"/> does not have that shape.</summary>
    public static bool TryParse(ReadOnlySpan<char> key, out string keyId, out ReadOnlySpan<char> secret)
    {
        var valid = TrySplit(key, out var id, out secret);
        keyId = valid ? id.ToString() : string.Empty;
        return valid;
    }

    /// <summary>As <see cref="TryParse"/>, the key's id as a span of <paramref name="key"/>.</summary>
    public static bool TrySplit(ReadOnlySpan<char> key, out ReadOnlySpan<char> keyId, out ReadOnlySpan<char> secret)
    {
        keyId = default;
        secret = default;
        if (key.Length > MaxKeyLength || !key.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        var rest = key[Prefix.Length..];
        var separator = rest.IndexOf('_');
        if (separator < 0 || !IsValidKeyId(rest[..separator]) || !IsValidSecret(rest[(separator + 1)..]))
        {
            return false;
        }

        keyId = rest[..separator];
        secret = rest[(separator + 1)..];
        return true;
    }

    /// <summary>Whether <paramref name="keyId"/> is 1 to 32 of <c>a-z 0-9</c>.</summary>
    public static bool IsValidKeyId(ReadOnlySpan<char> keyId)
    {
        if (keyId.IsEmpty || keyId.Length > MaxKeyIdLength)
        {
            return false;
        }

        foreach (var c in keyId)
        {
            if (!(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c)))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The SHA-256 of <paramref name="secret"/> (ASCII), lowercase hex, as stored.</summary>
    public static string Hash(ReadOnlySpan<char> secret)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        HashInto(secret, hash);
        return Convert.ToHexStringLower(hash);
    }

    /// <summary>Whether the SHA-256 of <paramref name="secret"/> is <paramref name="expectedHash"/>, compared in constant time.</summary>
    public static bool Matches(ReadOnlySpan<char> secret, ReadOnlySpan<byte> expectedHash)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        HashInto(secret, hash);
        return CryptographicOperations.FixedTimeEquals(hash, expectedHash);
    }

    /// <summary>The stored kind name of <paramref name="kind"/>.</summary>
    public static string KindName(ApiKeyKind kind) => kind switch
    {
        ApiKeyKind.Check => ApiKeyKinds.Check,
        ApiKeyKind.Management => ApiKeyKinds.Management,
        ApiKeyKind.Admin => ApiKeyKinds.Admin,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown API key kind"),
    };

    /// <summary>The kind stored as <paramref name="name"/>; false for anything else (such a key authenticates nothing).</summary>
    public static bool TryParseKind(string name, out ApiKeyKind kind)
    {
        switch (name)
        {
            case ApiKeyKinds.Check:
                kind = ApiKeyKind.Check;
                return true;
            case ApiKeyKinds.Management:
                kind = ApiKeyKind.Management;
                return true;
            case ApiKeyKinds.Admin:
                kind = ApiKeyKind.Admin;
                return true;
            default:
                kind = default;
                return false;
        }
    }

    /// <summary>An UNAUTHENTICATED message: the problem, then what to send.</summary>
    public static string SendKeyHint(string problem) =>
        $"{problem}: send 'authorization: Bearer azk_...' metadata with an API key of this server";

    private static bool IsValidSecret(ReadOnlySpan<char> secret)
    {
        if (secret.Length is < MinSecretLength or > MaxSecretLength)
        {
            return false;
        }

        foreach (var c in secret)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '-'))
            {
                return false;
            }
        }

        return true;
    }

    // The secret is ASCII (checked by TryParse), at most MaxSecretLength characters.
    private static void HashInto(ReadOnlySpan<char> secret, Span<byte> hash)
    {
        Span<byte> bytes = stackalloc byte[MaxSecretLength];
        var length = System.Text.Encoding.ASCII.GetBytes(secret[..Math.Min(secret.Length, MaxSecretLength)], bytes);
        SHA256.HashData(bytes[..length], hash);
        CryptographicOperations.ZeroMemory(bytes);
    }
}
