namespace AuthzGrpc.Core.Schema;

internal enum TokenKind
{
    Identifier,
    LeftBrace,
    RightBrace,
    LeftParen,
    RightParen,
    Colon,
    Pipe,
    Hash,
    Star,
    Equals,
    Plus,
    Minus,
    Ampersand,
    Arrow,
    Slash,
    Dot,
    Comma,
    Number,
    Less,
    Greater,

    // The expression of a caveat, as written between its braces: CEL, compiled by the caveat compiler, not this parser.
    CaveatBody,
    End,
}

internal readonly record struct Token(TokenKind Kind, string Text, int Line, int Column)
{
    public string Describe() => Kind switch
    {
        TokenKind.End => "the end of the schema",
        TokenKind.Identifier => $"'{Text}'",
        _ => $"'{Text}'",
    };
}

/// <summary>
/// Turns schema text into tokens, dropping whitespace and comments. The body of a top-level <c>caveat</c> is one
/// <see cref="TokenKind.CaveatBody"/> token: its CEL is another language, with strings and operators of its own.
/// </summary>
internal static class SchemaLexer
{
    public static List<Token> Tokenize(string text)
    {
        var tokens = new List<Token>();
        var line = 1;
        var lineStart = 0;
        var i = 0;

        // Braces and parentheses open, and whether a top-level 'caveat' awaits its body.
        var braces = 0;
        var parentheses = 0;
        var caveatPending = false;
        while (i < text.Length)
        {
            var c = text[i];
            var column = i - lineStart + 1;
            if (c == '\n')
            {
                i++;
                line++;
                lineStart = i;
                continue;
            }

            if (char.IsWhiteSpace(c))
            {
                i++;
                continue;
            }

            if (c == '/' && i + 1 < text.Length && text[i + 1] == '/')
            {
                while (i < text.Length && text[i] != '\n')
                {
                    i++;
                }

                continue;
            }

            if (c == '/' && i + 1 < text.Length && text[i + 1] == '*')
            {
                var startLine = line;
                var startColumn = column;
                i += 2;
                var closed = false;
                while (i < text.Length)
                {
                    if (text[i] == '*' && i + 1 < text.Length && text[i + 1] == '/')
                    {
                        i += 2;
                        closed = true;
                        break;
                    }

                    if (text[i] == '\n')
                    {
                        line++;
                        lineStart = i + 1;
                    }

                    i++;
                }

                if (!closed)
                {
                    throw new SchemaException(startLine, startColumn, "this block comment is never closed: add '*/'");
                }

                continue;
            }

            if (IsIdentifierStart(c))
            {
                var start = i;
                while (i < text.Length && IsIdentifierPart(text[i]))
                {
                    i++;
                }

                tokens.Add(new Token(TokenKind.Identifier, text[start..i], line, column));
                caveatPending |= braces == 0 && text[start..i] == "caveat";
                continue;
            }

            if (char.IsAsciiDigit(c))
            {
                var start = i;
                while (i < text.Length && char.IsAsciiDigit(text[i]))
                {
                    i++;
                }

                tokens.Add(new Token(TokenKind.Number, text[start..i], line, column));
                continue;
            }

            if (c == '-' && i + 1 < text.Length && text[i + 1] == '>')
            {
                tokens.Add(new Token(TokenKind.Arrow, "->", line, column));
                i += 2;
                continue;
            }

            if (c == '{' && caveatPending && parentheses == 0)
            {
                tokens.Add(new Token(TokenKind.LeftBrace, "{", line, column));
                i++;
                caveatPending = false;
                var (body, bodyLine, bodyColumn) = (i, line, i - lineStart + 1);
                i = CaveatBodyEnd(text, i, ref line, ref lineStart, column);
                tokens.Add(new Token(TokenKind.CaveatBody, text[body..i], bodyLine, bodyColumn));
                tokens.Add(new Token(TokenKind.RightBrace, "}", line, i - lineStart + 1));
                i++;
                continue;
            }

            TokenKind? kind = c switch
            {
                '{' => TokenKind.LeftBrace,
                '}' => TokenKind.RightBrace,
                '(' => TokenKind.LeftParen,
                ')' => TokenKind.RightParen,
                ':' => TokenKind.Colon,
                '|' => TokenKind.Pipe,
                '#' => TokenKind.Hash,
                '*' => TokenKind.Star,
                '=' => TokenKind.Equals,
                '+' => TokenKind.Plus,
                '-' => TokenKind.Minus,
                '&' => TokenKind.Ampersand,
                '/' => TokenKind.Slash,
                '.' => TokenKind.Dot,
                ',' => TokenKind.Comma,
                '<' => TokenKind.Less,
                '>' => TokenKind.Greater,
                _ => null,
            };
            if (kind is null)
            {
                throw new SchemaException(line, column, $"unexpected character '{c}': names use lowercase letters, digits and '_'");
            }

            braces += kind == TokenKind.LeftBrace ? 1 : kind == TokenKind.RightBrace ? -1 : 0;
            parentheses += kind == TokenKind.LeftParen ? 1 : kind == TokenKind.RightParen ? -1 : 0;

            tokens.Add(new Token(kind.Value, c.ToString(), line, column));
            i++;
        }

        tokens.Add(new Token(TokenKind.End, string.Empty, line, i - lineStart + 1));
        return tokens;
    }

    // The index of the '}' that closes a caveat's body opened just before start: braces nest, and those inside CEL
    // strings ('...', "...", triple-quoted, raw r"...") and '//' comments do not count.
    private static int CaveatBodyEnd(string text, int start, ref int line, ref int lineStart, int openColumn)
    {
        var (openLine, depth, i) = (line, 0, start);
        while (i < text.Length)
        {
            var c = text[i];
            if (c == '\n')
            {
                line++;
                lineStart = i + 1;
            }
            else if (c == '/' && i + 1 < text.Length && text[i + 1] == '/')
            {
                while (i + 1 < text.Length && text[i + 1] != '\n')
                {
                    i++;
                }
            }
            else if (c is '"' or '\'')
            {
                i = StringEnd(text, i, ref line, ref lineStart);
            }
            else if (c == '{')
            {
                depth++;
            }
            else if (c == '}')
            {
                if (depth == 0)
                {
                    return i;
                }

                depth--;
            }

            i++;
        }

        throw new SchemaException(openLine, openColumn, "the body of this caveat is never closed: add '}' after its expression");
    }

    // The index of the quote that closes the CEL string literal opening at start; a raw string (r"...") has no escapes.
    private static int StringEnd(string text, int start, ref int line, ref int lineStart)
    {
        var quote = text[start];
        var raw = start > 0 && text[start - 1] is 'r' or 'R' || (start > 1 && text[start - 1] is 'b' or 'B' && text[start - 2] is 'r' or 'R');
        var triple = start + 2 < text.Length && text[start + 1] == quote && text[start + 2] == quote;
        var i = start + (triple ? 3 : 1);
        while (i < text.Length)
        {
            var c = text[i];
            if (c == '\\' && !raw)
            {
                i += 2;
                continue;
            }

            if (c == '\n')
            {
                line++;
                lineStart = i + 1;
            }
            else if (c == quote && (!triple || (i + 2 < text.Length && text[i + 1] == quote && text[i + 2] == quote)))
            {
                return triple ? i + 2 : i;
            }

            i++;
        }

        // Unclosed: the caveat compiler says so at the string; here the body simply runs to the end.
        return text.Length - 1;
    }

    // Letters of either case are tokenized so that the parser can say "use lowercase" instead of "unexpected character".
    private static bool IsIdentifierStart(char c) => char.IsAsciiLetter(c) || c == '_';

    private static bool IsIdentifierPart(char c) => char.IsAsciiLetterOrDigit(c) || c == '_';
}
