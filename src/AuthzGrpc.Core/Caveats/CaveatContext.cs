using System.Globalization;
using System.Text;
using System.Text.Json;

namespace AuthzGrpc.Core.Caveats;

/// <summary>
/// The named values a caveat is evaluated against: a JSON object, bounded so that one relationship or request cannot
/// make evaluation expensive. Values are held as null, bool, long, double, string, <see cref="IReadOnlyList{T}"/> of
/// object? and <see cref="IReadOnlyDictionary{TKey, TValue}"/> of string to object?; immutable once built.
/// </summary>
public sealed class CaveatContext
{
    /// <summary>Largest accepted context, in UTF-8 bytes of its JSON.</summary>
    public const int MaxBytes = 4096;

    /// <summary>Deepest accepted nesting; the top-level object is depth 1.</summary>
    public const int MaxDepth = 16;

    private readonly Dictionary<string, object?> values;

    private CaveatContext(Dictionary<string, object?> values)
    {
        this.values = values;
        Names = Array.AsReadOnly(values.Keys.Order(StringComparer.Ordinal).ToArray());
    }

    /// <summary>The context with no values.</summary>
    public static CaveatContext Empty { get; } = new(new Dictionary<string, object?>(StringComparer.Ordinal));

    /// <summary>Whether no value is given.</summary>
    public bool IsEmpty => values.Count == 0;

    /// <summary>The top-level names, sorted ordinal.</summary>
    public IReadOnlyCollection<string> Names { get; }

    /// <summary>
    /// Reads a JSON object. Throws <see cref="CaveatException"/> of kind InvalidContext for invalid JSON, anything but an
    /// object, a duplicate key, more than <see cref="MaxBytes"/> UTF-8 bytes, or nesting deeper than <see cref="MaxDepth"/>.
    /// </summary>
    public static CaveatContext Parse(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        var byteCount = Encoding.UTF8.GetByteCount(json);
        if (byteCount > MaxBytes)
        {
            throw CaveatException.InvalidContext($"caveat context is {byteCount} bytes of UTF-8, over the limit of {MaxBytes}");
        }

        JsonDocument document;
        try
        {
            // The reader's own depth limit sits above ours so that ours gives the message.
            document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = MaxDepth + 8 });
        }
        catch (JsonException error)
        {
            throw CaveatException.InvalidContext($"caveat context is not valid JSON: {error.Message}");
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw CaveatException.InvalidContext($"caveat context must be a JSON object, not {document.RootElement.ValueKind.ToString().ToLowerInvariant()}");
            }

            return new((Dictionary<string, object?>)FromJson(document.RootElement, 1)!);
        }
    }

    /// <summary>
    /// Builds a context from values of the kinds listed on the class (int is taken as long); same limits as
    /// <see cref="Parse"/>, and non-finite doubles are refused since JSON cannot carry them.
    /// </summary>
    public static CaveatContext FromValues(IReadOnlyDictionary<string, object?> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var context = new CaveatContext((Dictionary<string, object?>)Normalize(values, 1, "")!);
        var byteCount = Encoding.UTF8.GetByteCount(context.ToJson());
        return byteCount <= MaxBytes
            ? context
            : throw CaveatException.InvalidContext($"caveat context is {byteCount} bytes of UTF-8, over the limit of {MaxBytes}");
    }

    /// <summary>
    /// The context a caveat is evaluated on: every top-level name of either, the relationship's value winning where both
    /// give one (SpiceDB's rule, so a request cannot override what was written with the relationship). The result is not
    /// re-checked against <see cref="MaxBytes"/>: each side already was.
    /// </summary>
    public static CaveatContext Merge(CaveatContext relationship, CaveatContext request)
    {
        ArgumentNullException.ThrowIfNull(relationship);
        ArgumentNullException.ThrowIfNull(request);
        if (request.IsEmpty)
        {
            return relationship;
        }

        if (relationship.IsEmpty)
        {
            return request;
        }

        var merged = new Dictionary<string, object?>(request.values, StringComparer.Ordinal);
        foreach (var (name, value) in relationship.values)
        {
            merged[name] = value;
        }

        return new(merged);
    }

    /// <summary>Canonical JSON: keys sorted ordinal, no whitespace, doubles always with a fraction or exponent so they read back as doubles.</summary>
    public string ToJson()
    {
        var builder = new StringBuilder();
        Write(builder, values);
        return builder.ToString();
    }

    internal bool TryGetValue(string name, out object? value) => values.TryGetValue(name, out value);

    private static object? FromJson(JsonElement element, int depth)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                CheckDepth(depth);
                var map = new Dictionary<string, object?>(StringComparer.Ordinal);
                foreach (var property in element.EnumerateObject())
                {
                    if (!map.TryAdd(property.Name, FromJson(property.Value, depth + 1)))
                    {
                        throw CaveatException.InvalidContext($"caveat context has the key '{property.Name}' twice in one object");
                    }
                }

                return map;
            case JsonValueKind.Array:
                CheckDepth(depth);
                return element.EnumerateArray().Select(item => FromJson(item, depth + 1)).ToArray();
            case JsonValueKind.String:
                return element.GetString();
            case JsonValueKind.Number:
                if (element.TryGetInt64(out var integer))
                {
                    return integer;
                }

                if (element.TryGetUInt64(out var unsigned))
                {
                    return unsigned;
                }

                return element.GetDouble();
            case JsonValueKind.True:
                return true;
            case JsonValueKind.False:
                return false;
            default:
                return null;
        }
    }

    private static object? Normalize(object? value, int depth, string path) => value switch
    {
        null => null,
        bool or long or string => value,
        int small => (long)small,
        ulong big => big,
        double number => double.IsFinite(number)
            ? number
            : throw CaveatException.InvalidContext($"caveat context value '{path}' is {number}, which JSON cannot carry"),
        IReadOnlyDictionary<string, object?> map => NormalizeMap(map, depth, path),
        IReadOnlyList<object?> list => NormalizeList(list, depth, path),
        _ => throw CaveatException.InvalidContext(
            $"caveat context value '{path}' is a {value.GetType().Name}; expected null, bool, long, double, string, a list or a map"),
    };

    private static Dictionary<string, object?> NormalizeMap(IReadOnlyDictionary<string, object?> map, int depth, string path)
    {
        CheckDepth(depth);
        var copy = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (key, item) in map)
        {
            copy[key] = Normalize(item, depth + 1, path.Length == 0 ? key : path + "." + key);
        }

        return copy;
    }

    private static object?[] NormalizeList(IReadOnlyList<object?> list, int depth, string path)
    {
        CheckDepth(depth);
        var copy = new object?[list.Count];
        for (var i = 0; i < copy.Length; i++)
        {
            copy[i] = Normalize(list[i], depth + 1, $"{path}[{i.ToString(CultureInfo.InvariantCulture)}]");
        }

        return copy;
    }

    private static void CheckDepth(int depth)
    {
        if (depth > MaxDepth)
        {
            throw CaveatException.InvalidContext($"caveat context nests deeper than {MaxDepth} levels");
        }
    }

    private static void Write(StringBuilder builder, object? value)
    {
        switch (value)
        {
            case null:
                builder.Append("null");
                break;
            case bool flag:
                builder.Append(flag ? "true" : "false");
                break;
            case long integer:
                builder.Append(integer.ToString(CultureInfo.InvariantCulture));
                break;
            case ulong unsigned:
                builder.Append(unsigned.ToString(CultureInfo.InvariantCulture));
                break;
            case double number:
                var digits = number.ToString("R", CultureInfo.InvariantCulture);
                builder.Append(digits);
                if (!digits.Contains('.', StringComparison.Ordinal) && !digits.Contains('E', StringComparison.Ordinal))
                {
                    builder.Append(".0");
                }

                break;
            case string text:
                builder.Append(JsonSerializer.Serialize(text));
                break;
            case IReadOnlyDictionary<string, object?> map:
                builder.Append('{');
                var first = true;
                foreach (var key in map.Keys.Order(StringComparer.Ordinal))
                {
                    if (!first)
                    {
                        builder.Append(',');
                    }

                    first = false;
                    builder.Append(JsonSerializer.Serialize(key)).Append(':');
                    Write(builder, map[key]);
                }

                builder.Append('}');
                break;
            case IReadOnlyList<object?> list:
                builder.Append('[');
                for (var i = 0; i < list.Count; i++)
                {
                    if (i > 0)
                    {
                        builder.Append(',');
                    }

                    Write(builder, list[i]);
                }

                builder.Append(']');
                break;
        }
    }
}
