using System.Text.Json;
using Google.Protobuf;

namespace AuthzGrpc.Cli;

/// <summary>How <c>--output</c> prints replies.</summary>
internal enum OutputFormat
{
    /// <summary>Text and tables for people.</summary>
    Table,

    /// <summary>
    /// One JSON document per reply, on one line: a unary call prints one, a stream prints one per message (JSON lines).
    /// Proto replies use the proto3 JSON mapping (lowerCamelCase fields, enum names, 64-bit numbers as strings).
    /// </summary>
    Json,
}

/// <summary>Prints a command's replies in the format of <c>--output</c>.</summary>
internal sealed class Printer(TextWriter output, OutputFormat format)
{
    // Default values printed too, so a field a script reads is always there (e.g. "deletedCount": "0").
    private static readonly JsonFormatter ProtoJson = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(true));
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public bool IsJson => format == OutputFormat.Json;

    public TextWriter Output => output;

    /// <summary>A proto reply: its JSON, or <paramref name="text"/> for people.</summary>
    public void Write(IMessage reply, Action<TextWriter> text)
    {
        if (IsJson)
        {
            output.WriteLine(ProtoJson.Format(reply));
        }
        else
        {
            text(output);
        }
    }

    /// <summary>
    /// After a stream of <paramref name="count"/> rows, in table output only: the line that says nothing was found, so an
    /// empty answer is told from no answer (JSON lines stay empty: no reply, no line).
    /// </summary>
    public void WriteNoneFoundIfEmpty(int count, string what)
    {
        if (count == 0 && !IsJson)
        {
            output.WriteLine($"no {what} found");
        }
    }

    /// <summary>A reply that is not a proto message (e.g. a diff, a context list): System.Text.Json, camelCase.</summary>
    public void WriteValue<T>(T reply, Action<TextWriter> text)
    {
        if (IsJson)
        {
            output.WriteLine(JsonSerializer.Serialize(reply, Json));
        }
        else
        {
            text(output);
        }
    }
}
