namespace AuthzGrpc.Cli;

// context add|use|list|remove: named connections in the config file (ContextConfig). 'context add' stores what the
// connection options of its own command line say (--server, --token, --tls, --ca, --insecure).
internal static partial class AuthzCtl
{
    private static Command ContextCommand(GlobalOptions globals, TextWriter output, TextWriter error) => new("context", "Named connections (server, key, TLS) kept in the config file; explicit options override the context's")
    {
        ContextAddCommand(globals, output, error),
        ContextUseCommand(globals, output, error),
        ContextListCommand(globals, output, error),
        ContextRemoveCommand(globals, output, error),
    };

    private static Argument<string> ContextNameArgument() => new("name") { Description = "The context's name" };

    private static Command ContextAddCommand(GlobalOptions globals, TextWriter output, TextWriter error)
    {
        var name = ContextNameArgument();
        var tokenFile = new Option<string?>("--token-file") { Description = "A file holding the key, read when a command runs (instead of storing the key itself with --token)" };
        var command = new Command("add",
            "Add or replace a context with this command line's --server, --token or --token-file, --tls, --ca and --insecure; the first context added becomes the current one")
        {
            name, tokenFile,
        };
        command.SetAction(result => Local(error, () =>
        {
            var server = result.GetValue(globals.Server) ?? throw new CommandLineException("context add: name the server with --server");
            var token = result.GetResult(globals.Token) is { Implicit: false } ? result.GetValue(globals.Token) : null;
            var file = result.GetValue(tokenFile);
            if (token is not null && file is not null)
            {
                throw new CommandLineException("context add: give --token or --token-file, not both");
            }

            var (tls, ca, insecure) = globals.TransportOf(result);
            _ = Address(server, tls || ca is not null, insecure);
            var context = new ConnectionContext
            {
                Server = server,
                Token = string.IsNullOrEmpty(token) ? null : token,
                TokenFile = file is null ? null : Path.GetFullPath(file),
                Tls = tls,
                Ca = ca is null ? null : Path.GetFullPath(ca),
                Insecure = insecure,
            };
            var (path, config) = globals.LoadContexts();
            config.Contexts[result.GetValue(name)!] = context;
            config.Current ??= result.GetValue(name);
            config.Save(path);
            output.WriteLine($"context {result.GetValue(name)} saved in {path}{(config.Current == result.GetValue(name) ? " (current)" : string.Empty)}");
            return ExitCodes.Success;
        }));
        return command;
    }

    private static Command ContextUseCommand(GlobalOptions globals, TextWriter output, TextWriter error)
    {
        var name = ContextNameArgument();
        var command = new Command("use", "Make a context the current one") { name };
        command.SetAction(result => Local(error, () =>
        {
            var (path, config) = globals.LoadContexts();
            config.Current = Known(config, result.GetValue(name)!);
            config.Save(path);
            output.WriteLine($"using context {config.Current}");
            return ExitCodes.Success;
        }));
        return command;
    }

    private static Command ContextRemoveCommand(GlobalOptions globals, TextWriter output, TextWriter error)
    {
        var name = ContextNameArgument();
        var command = new Command("remove", "Remove a context (and its key) from the config file") { name };
        command.SetAction(result => Local(error, () =>
        {
            var (path, config) = globals.LoadContexts();
            config.Contexts.Remove(Known(config, result.GetValue(name)!));
            if (config.Current == result.GetValue(name))
            {
                config.Current = null;
            }

            config.Save(path);
            output.WriteLine($"context {result.GetValue(name)} removed");
            return ExitCodes.Success;
        }));
        return command;
    }

    private static Command ContextListCommand(GlobalOptions globals, TextWriter output, TextWriter error)
    {
        var command = new Command("list", "The contexts, the current one marked '*'; whether each has a key, never the key");
        command.SetAction(result => Local(error, () =>
        {
            var (_, config) = globals.LoadContexts();
            var rows = config.Contexts.Select(c => new
            {
                Name = c.Key,
                Current = c.Key == config.Current,
                c.Value.Server,
                Key = c.Value.Token is not null ? "stored" : c.Value.TokenFile is not null ? $"file {c.Value.TokenFile}" : "none",
                Tls = c.Value.Tls || c.Value.Ca is not null,
                c.Value.Ca,
                c.Value.Insecure,
            }).ToList();
            globals.PrinterOf(result, output).WriteValue(rows, text =>
                WriteTable(text, [["CURRENT", "NAME", "SERVER", "TLS", "KEY"], .. rows.Select(r => new[]
                {
                    r.Current ? "*" : string.Empty, r.Name, r.Server ?? "-", r.Insecure ? "no (insecure)" : r.Tls ? (r.Ca is null ? "yes" : $"yes, CA {r.Ca}") : "-", r.Key,
                })]));
            return ExitCodes.Success;
        }));
        return command;
    }

    private static string Known(ContextConfig config, string name) =>
        config.Contexts.ContainsKey(name) ? name : throw new CommandLineException($"no context named '{name}' (authzctl context list shows them)");
}
