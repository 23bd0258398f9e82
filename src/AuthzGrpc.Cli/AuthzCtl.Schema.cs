using AuthzGrpc.V1;

namespace AuthzGrpc.Cli;

// schema read|write|diff|validate: the schema in force on the server (SchemaService), and a schema file offline.
internal sealed partial class AuthzCtl
{
    private static Argument<string> SchemaFileArgument() => new("file") { Description = "A schema file (.zed), in the SpiceDB-style schema language" };

    private Command SchemaReadCommand()
    {
        var command = new Command("read", "Print the schema in force (ReadSchema)");
        command.SetAction((result, cancellation) => CallAsync(result, async channel =>
        {
            var reply = await new SchemaService.SchemaServiceClient(channel).ReadSchemaAsync(new ReadSchemaRequest(), cancellationToken: cancellation);
            globals.PrinterOf(result, output).Write(reply, text => text.Write(reply.Schema.EndsWith('\n') ? reply.Schema : reply.Schema + "\n"));
            return ExitCodes.Success;
        }));
        return command;
    }

    private Command SchemaWriteCommand()
    {
        var file = SchemaFileArgument();
        var force = new Option<bool>("--force") { Description = "Write it even when stored relationships no longer fit it: they are deleted" };
        var command = new Command("write", "Replace the schema with the file's (WriteSchema); a schema that does not compile, or that would orphan relationships, is refused") { file, force };
        command.SetAction((result, cancellation) => CallAsync(result, async channel =>
        {
            var schema = await File.ReadAllTextAsync(result.GetValue(file)!, cancellation);
            var reply = await new SchemaService.SchemaServiceClient(channel).WriteSchemaAsync(
                new WriteSchemaRequest { Schema = schema, Force = result.GetValue(force) }, cancellationToken: cancellation);
            globals.PrinterOf(result, output).Write(reply, text =>
            {
                text.WriteLine($"schema written at revision {reply.Revision}");
                foreach (var warning in reply.Warnings)
                {
                    text.WriteLine($"warning: {result.GetValue(file)}:{warning.Line}:{warning.Column}: {warning.Message}");
                }
            });
            return ExitCodes.Success;
        }));
        return command;
    }

    private Command SchemaDiffCommand()
    {
        var file = SchemaFileArgument();
        var command = new Command("diff", "Compare the schema in force with the file: a unified diff from the server's to the file's (exit 0: equal, 1: different)") { file };
        command.SetAction((result, cancellation) => CallAsync(result, async channel =>
        {
            var path = result.GetValue(file)!;
            var schema = await File.ReadAllTextAsync(path, cancellation);
            var reply = await new SchemaService.SchemaServiceClient(channel).ReadSchemaAsync(new ReadSchemaRequest(), cancellationToken: cancellation);
            var diff = LineDiff.Unified(reply.Schema, schema, $"server (revision {reply.Revision})", path);
            globals.PrinterOf(result, output).WriteValue(new { Equal = diff.Length == 0, reply.Revision, Diff = diff }, text => text.Write(diff));
            return diff.Length == 0 ? ExitCodes.Success : ExitCodes.No;
        }));
        return command;
    }

    // The same offline check as 'authzctl validate' (a .zed file compiles; a validation file's assertions hold).
    private Command SchemaValidateCommand()
    {
        var file = SchemaFileArgument();
        file.Description = "A schema file (.zed) or a validation file (schema with relationships and assertions)";
        var command = new Command("validate", "Validate a schema or validation file offline, without a server (as 'authzctl validate')") { file };
        command.SetAction(result => ValidateFile(result.GetValue(file)!, output, error) ? ExitCodes.Success : ExitCodes.No);
        return command;
    }
}
