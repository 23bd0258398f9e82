using System.Globalization;
using System.Text;

namespace AuthzGrpc.Core.Caveats;

internal enum TokenKind
{
    End,
    Identifier,
    Int,
    UInt,
    Double,
    String,
    Bytes,
    True,
    False,
    Null,
    In,
    LeftParen,
    RightParen,
    LeftBracket,
    RightBracket,
    LeftBrace,
    RightBrace,
    Dot,
    Comma,
    Colon,
    Question,
    OrOr,
    AndAnd,
    Equal,
    NotEqual,
    Less,
    LessEqual,
    Greater,
    GreaterEqual,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    Bang,
}

/// <summary>One token; <see cref="Text"/> holds an identifier or string, and the integer literals keep their digits for the parser to sign.</summary>
internal readonly record struct Token(TokenKind Kind, int Line, int Column, string Text, ulong Integer, double Number, byte[]? Bytes);

/// <summary>CEL's lexical grammar (cel-spec langdef.md): literals with their escapes, operators, <c>//</c> comments.</summary>
internal sealed class CelLexer
{
    // Reserved by cel-spec so that future versions can use them; refused as identifiers.
    private static readonly HashSet<string> Reserved =
    [
        "as", "break", "const", "continue", "else", "for", "function", "if", "import", "let", "loop", "package", "namespace", "return", "var", "void", "while",
    ];

    private readonly string text;
    private int position;
    private int line = 1;
    private int lineStart;

    public CelLexer(string text) => this.text = text;

    public List<Token> ReadAll()
    {
        var tokens = new List<Token>();
        while (true)
        {
            var token = Next();
            tokens.Add(token);
            if (token.Kind == TokenKind.End)
            {
                return tokens;
            }
        }
    }

    private int Column => position - lineStart + 1;

    private char Peek(int ahead = 0) => position + ahead < text.Length ? text[position + ahead] : '\0';

    private static CaveatException Error(int errorLine, int errorColumn, string message) => CaveatException.CompileAt(errorLine, errorColumn, message);

    private Token Next()
    {
        SkipSpaceAndComments();
        var (startLine, startColumn) = (line, Column);
        Token Simple(TokenKind kind, int length)
        {
            position += length;
            return new(kind, startLine, startColumn, "", 0, 0, null);
        }

        if (position >= text.Length)
        {
            return new(TokenKind.End, startLine, startColumn, "", 0, 0, null);
        }

        var c = text[position];
        switch (c)
        {
            case '(': return Simple(TokenKind.LeftParen, 1);
            case ')': return Simple(TokenKind.RightParen, 1);
            case '[': return Simple(TokenKind.LeftBracket, 1);
            case ']': return Simple(TokenKind.RightBracket, 1);
            case '{': return Simple(TokenKind.LeftBrace, 1);
            case '}': return Simple(TokenKind.RightBrace, 1);
            case ',': return Simple(TokenKind.Comma, 1);
            case ':': return Simple(TokenKind.Colon, 1);
            case '?': return Simple(TokenKind.Question, 1);
            case '+': return Simple(TokenKind.Plus, 1);
            case '-': return Simple(TokenKind.Minus, 1);
            case '*': return Simple(TokenKind.Star, 1);
            case '/': return Simple(TokenKind.Slash, 1);
            case '%': return Simple(TokenKind.Percent, 1);
            case '.' when !char.IsAsciiDigit(Peek(1)): return Simple(TokenKind.Dot, 1);
            case '|' when Peek(1) == '|': return Simple(TokenKind.OrOr, 2);
            case '&' when Peek(1) == '&': return Simple(TokenKind.AndAnd, 2);
            case '=' when Peek(1) == '=': return Simple(TokenKind.Equal, 2);
            case '!': return Peek(1) == '=' ? Simple(TokenKind.NotEqual, 2) : Simple(TokenKind.Bang, 1);
            case '<': return Peek(1) == '=' ? Simple(TokenKind.LessEqual, 2) : Simple(TokenKind.Less, 1);
            case '>': return Peek(1) == '=' ? Simple(TokenKind.GreaterEqual, 2) : Simple(TokenKind.Greater, 1);
        }

        if (char.IsAsciiDigit(c) || c == '.')
        {
            return ReadNumber(startLine, startColumn);
        }

        if (c is '"' or '\'')
        {
            return ReadString(startLine, startColumn, raw: false, bytes: false);
        }

        if (char.IsAsciiLetter(c) || c == '_')
        {
            // String prefixes: r, b, rb, br in either case, directly before a quote.
            foreach (var prefix in (ReadOnlySpan<string>)["rb", "br", "r", "b"])
            {
                if (position + prefix.Length < text.Length && Peek(prefix.Length) is '"' or '\''
                    && text.AsSpan(position, prefix.Length).Equals(prefix, StringComparison.OrdinalIgnoreCase))
                {
                    position += prefix.Length;
                    return ReadString(startLine, startColumn, raw: prefix.Contains('r', StringComparison.Ordinal), bytes: prefix.Contains('b', StringComparison.Ordinal));
                }
            }

            var start = position;
            while (position < text.Length && (char.IsAsciiLetterOrDigit(text[position]) || text[position] == '_'))
            {
                position++;
            }

            var word = text[start..position];
            return word switch
            {
                "true" => new(TokenKind.True, startLine, startColumn, word, 0, 0, null),
                "false" => new(TokenKind.False, startLine, startColumn, word, 0, 0, null),
                "null" => new(TokenKind.Null, startLine, startColumn, word, 0, 0, null),
                "in" => new(TokenKind.In, startLine, startColumn, word, 0, 0, null),
                _ when Reserved.Contains(word) => throw Error(startLine, startColumn, $"'{word}' is a reserved word"),
                _ => new(TokenKind.Identifier, startLine, startColumn, word, 0, 0, null),
            };
        }

        throw Error(startLine, startColumn, $"unexpected character '{c}'");
    }

    private void SkipSpaceAndComments()
    {
        while (position < text.Length)
        {
            var c = text[position];
            if (c == '\n')
            {
                position++;
                line++;
                lineStart = position;
            }
            else if (c is ' ' or '\t' or '\r' or '\f')
            {
                position++;
            }
            else if (c == '/' && Peek(1) == '/')
            {
                while (position < text.Length && text[position] != '\n')
                {
                    position++;
                }
            }
            else
            {
                return;
            }
        }
    }

    private Token ReadNumber(int startLine, int startColumn)
    {
        var start = position;
        if (Peek() == '0' && Peek(1) is 'x' or 'X')
        {
            position += 2;
            var digitsStart = position;
            while (char.IsAsciiHexDigit(Peek()))
            {
                position++;
            }

            if (position == digitsStart
                || !ulong.TryParse(text.AsSpan(digitsStart, position - digitsStart), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var hex))
            {
                throw Error(startLine, startColumn, $"invalid hex literal '{text[start..position]}'");
            }

            return IntegerToken(startLine, startColumn, hex, text[start..position]);
        }

        while (char.IsAsciiDigit(Peek()))
        {
            position++;
        }

        var isDouble = false;
        if (Peek() == '.' && char.IsAsciiDigit(Peek(1)))
        {
            isDouble = true;
            position++;
            while (char.IsAsciiDigit(Peek()))
            {
                position++;
            }
        }

        if (Peek() is 'e' or 'E' && (char.IsAsciiDigit(Peek(1)) || (Peek(1) is '+' or '-' && char.IsAsciiDigit(Peek(2)))))
        {
            isDouble = true;
            position += 2;
            while (char.IsAsciiDigit(Peek()))
            {
                position++;
            }
        }

        var literal = text[start..position];
        if (isDouble)
        {
            var number = double.Parse(literal, NumberStyles.Float, CultureInfo.InvariantCulture);
            return new(TokenKind.Double, startLine, startColumn, literal, 0, number, null);
        }

        if (!ulong.TryParse(literal, NumberStyles.None, CultureInfo.InvariantCulture, out var value))
        {
            throw Error(startLine, startColumn, $"integer literal '{literal}' is out of range");
        }

        return IntegerToken(startLine, startColumn, value, literal);
    }

    private Token IntegerToken(int startLine, int startColumn, ulong value, string literal)
    {
        if (Peek() is 'u' or 'U')
        {
            position++;
            return new(TokenKind.UInt, startLine, startColumn, literal + "u", value, 0, null);
        }

        // The sign is applied by the parser, so that -9223372036854775808 is accepted; the range is checked there.
        return new(TokenKind.Int, startLine, startColumn, literal, value, 0, null);
    }

    private Token ReadString(int startLine, int startColumn, bool raw, bool bytes)
    {
        var quote = text[position];
        var triple = Peek(1) == quote && Peek(2) == quote;
        position += triple ? 3 : 1;
        var builder = new List<byte>();
        var chars = new StringBuilder();
        void AppendCodePoint(int codePoint)
        {
            var rune = new Rune(codePoint);
            if (bytes)
            {
                Span<byte> buffer = stackalloc byte[4];
                builder.AddRange(buffer[..rune.EncodeToUtf8(buffer)]);
            }
            else
            {
                chars.Append(rune.ToString());
            }
        }

        while (true)
        {
            if (position >= text.Length)
            {
                throw Error(startLine, startColumn, "unterminated string literal");
            }

            var c = text[position];
            if (c == quote && (!triple || (Peek(1) == quote && Peek(2) == quote)))
            {
                position += triple ? 3 : 1;
                break;
            }

            if (c == '\n')
            {
                if (!triple)
                {
                    throw Error(startLine, startColumn, "newline in string literal (use a triple-quoted string)");
                }

                line++;
                lineStart = position + 1;
            }

            if (c == '\\' && !raw)
            {
                var (escapeLine, escapeColumn) = (line, Column);
                position++;
                var escape = Peek();
                position++;
                switch (escape)
                {
                    case 'n': AppendCodePoint('\n'); break;
                    case 't': AppendCodePoint('\t'); break;
                    case 'r': AppendCodePoint('\r'); break;
                    case 'a': AppendCodePoint('\a'); break;
                    case 'b': AppendCodePoint('\b'); break;
                    case 'f': AppendCodePoint('\f'); break;
                    case 'v': AppendCodePoint('\v'); break;
                    case '\\' or '\'' or '"' or '`' or '?': AppendCodePoint(escape); break;
                    case 'x' or 'X' or 'u' or 'U':
                        var length = escape switch { 'u' => 4, 'U' => 8, _ => 2 };
                        if (position + length > text.Length
                            || !int.TryParse(text.AsSpan(position, length), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var code)
                            || (escape is 'u' or 'U' && !Rune.IsValid(code)))
                        {
                            throw Error(escapeLine, escapeColumn, $"invalid escape '\\{escape}' in string literal");
                        }

                        position += length;
                        if (bytes && escape is 'x' or 'X')
                        {
                            builder.Add((byte)code);
                        }
                        else
                        {
                            AppendCodePoint(code);
                        }

                        break;
                    case >= '0' and <= '3' when position + 2 <= text.Length && text[position] is >= '0' and <= '7' && text[position + 1] is >= '0' and <= '7':
                        var octal = ((escape - '0') * 64) + ((text[position] - '0') * 8) + (text[position + 1] - '0');
                        position += 2;
                        if (bytes)
                        {
                            builder.Add((byte)octal);
                        }
                        else
                        {
                            AppendCodePoint(octal);
                        }

                        break;
                    default:
                        throw Error(escapeLine, escapeColumn, $"invalid escape '\\{escape}' in string literal");
                }

                continue;
            }

            if (char.IsHighSurrogate(c) && char.IsLowSurrogate(Peek(1)))
            {
                AppendCodePoint(char.ConvertToUtf32(c, Peek(1)));
                position += 2;
                continue;
            }

            if (char.IsSurrogate(c))
            {
                throw Error(line, Column, "unpaired surrogate in string literal");
            }

            AppendCodePoint(c);
            position++;
        }

        return bytes
            ? new(TokenKind.Bytes, startLine, startColumn, "", 0, 0, [.. builder])
            : new(TokenKind.String, startLine, startColumn, chars.ToString(), 0, 0, null);
    }
}
