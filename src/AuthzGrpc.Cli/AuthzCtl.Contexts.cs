namespace AuthzGrpc.Cli;

// context add|use|list|remove: named connections in the config file (ContextConfig). 'context add' stores what the
// connection options of its own command line say (--server, --token, --tls, --ca, --insecure).
internal sealed partial class AuthzCtl
{
    private static Argument<string> ContextNameArgument() => new("name") { Description = "The context's name" };

    private Command ContextAddCommand()
    {
        var name = ContextNameArgument();
        var tokenFile = new Option<string?>("--token-file") { Description = "A file holding the key, read when a command runs (instead of storing the key itself with --token)" };
        var command = new Command("add",
            "Add or replace a context with this command line's --server, --token or --token-file, --tls, --ca, --cert and --key, and --insecure; the first context added becomes the current one")
        {
            name, tokenFile,
        };
        command.SetAction(result => Local(() =>
        {
            var server = result.GetValue(globals.Server) ?? throw new CommandLineException("context add: name the server with --server");
            var token = result.GetResult(globals.Token) is { Implicit: false } ? result.GetValue(globals.Token) : null;
            var file = result.GetValue(tokenFile);
            if (token is not null && file is not null)
            {
                throw new CommandLineException("context add: give --token or --token-file, not both");
            }

            var (tls, ca, insecure) = globals.TransportOf(result);
            var (cert, key) = globals.ClientCertificateOf(result);
            _ = Address(server, tls || ca is not null || cert is not null, insecure);
            var context = new ConnectionContext
            {
                Server = server,
                Token = string.IsNullOrEmpty(token) ? null : token,
                TokenFile = file is null ? null : Path.GetFullPath(file),
                Tls = tls,
                Ca = ca is null ? null : Path.GetFullPath(ca),
                Cert = cert is null ? null : Path.GetFullPath(cert),
                Key = key is null ? null : Path.GetFullPath(key),
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

    private Command ContextUseCommand() => ContextChangeCommand("use", "Make a context the current one", (config, name) =>
    {
        config.Current = name;
        return $"using context {name}";
    });

    private Command ContextRemoveCommand() => ContextChangeCommand("remove", "Remove a context (and its key) from the config file", (config, name) =>
    {
        config.Contexts.Remove(name);
        if (config.Current == name)
        {
            config.Current = null;
        }

        return $"context {name} removed";
    });

    // A command that changes the config file for one known context: change returns the line to print, and the file is
    // saved only when it did not throw.
    private Command ContextChangeCommand(string verb, string description, Func<ContextConfig, string, string> change)
    {
        var name = ContextNameArgument();
        var command = new Command(verb, description) { name };
        command.SetAction(result => Local(() =>
        {
            var (path, config) = globals.LoadContexts();
            var line = change(config, Known(config, result.GetValue(name)!));
            config.Save(path);
            output.WriteLine(line);
            return ExitCodes.Success;
        }));
        return command;
    }

    private Command ContextListCommand()
    {
        var command = new Command("list", "The contexts, the current one marked '*'; whether each has a key, never the key");
        command.SetAction(result => Local(() =>
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
                WriteTableOrNone(text, "contexts", [["CURRENT", "NAME", "SERVER", "TLS", "KEY"], .. rows.Select(r => new[]
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
