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

/// <summary>Turns schema text into tokens, dropping whitespace and comments.</summary>
internal static class SchemaLexer
{
    public static List<Token> Tokenize(string text)
    {
        var tokens = new List<Token>();
        var line = 1;
        var lineStart = 0;
        var i = 0;
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
                _ => null,
            };
            if (kind is null)
            {
                throw new SchemaException(line, column, $"unexpected character '{c}': names use lowercase letters, digits and '_'");
            }

            tokens.Add(new Token(kind.Value, c.ToString(), line, column));
            i++;
        }

        tokens.Add(new Token(TokenKind.End, string.Empty, line, i - lineStart + 1));
        return tokens;
    }

    // Letters of either case are tokenized so that the parser can say "use lowercase" instead of "unexpected character".
    private static bool IsIdentifierStart(char c) => char.IsAsciiLetter(c) || c == '_';

    private static bool IsIdentifierPart(char c) => char.IsAsciiLetterOrDigit(c) || c == '_';
}
