using System.CommandLine.Parsing;
using AuthzGrpc.V1;

namespace AuthzGrpc.Cli;

// The options every command takes (connection and output), and --consistency of the commands that read.
internal sealed partial class AuthzCtl
{
    // --consistency of a read (a new option per command: an option belongs to one command). The proto has no
    // "at exact revision" requirement, so neither does the option.
    private static Option<Consistency?> ConsistencyOption() => new("--consistency")
    {
        Description = "How fresh the answer must be: minimize_latency (the default), at_least:<revision> (at least as fresh as a write's revision) or full (the newest revision)",
        CustomParser = ParseConsistency,
    };

    private static Consistency? ParseConsistency(ArgumentResult argument)
    {
        var text = argument.Tokens.Count == 0 ? string.Empty : argument.Tokens[0].Value;
        const string AtLeast = "at_least:";
        if (text == "minimize_latency")
        {
            return new Consistency { MinimizeLatency = true };
        }

        if (text == "full")
        {
            return new Consistency { FullyConsistent = true };
        }

        if (text.StartsWith(AtLeast, StringComparison.Ordinal) && text.Length > AtLeast.Length)
        {
            return new Consistency { AtLeast = text[AtLeast.Length..] };
        }

        argument.AddError($"--consistency '{text}': expected minimize_latency, at_least:<revision> or full");
        return null;
    }

    /// <summary>
    /// The options of every command: where the server is, the key, TLS, and the output format. They are recursive,
    /// so they may follow any subcommand. The default key is looked up when a command runs, never shown.
    /// </summary>
    internal sealed class GlobalOptions
    {
        private readonly Func<string, string?> _environment;
        private readonly Func<string?> _defaultToken;

        public GlobalOptions(Func<string, string?> environment, Func<string?> defaultToken)
        {
            _environment = environment;
            _defaultToken = defaultToken;
        }

        public Option<string?> Server { get; } = new("--server")
        {
            Description = $"The server's address, http(s)://host:port or host:port (default: $AUTHZ_SERVER, else the context's, else {DefaultServer})",
            Recursive = true,
        };

        public Option<string?> Token { get; } = new("--token")
        {
            Description = $"The API key to send as 'authorization: Bearer <key>' (default: ${TokenVariable}, else the context's, else the content of {TokenFile} " +
                "in the working folder, where scripts/run.sh's server writes its generated admin key)",
            Recursive = true,
        };

        public Option<bool> Tls { get; } = new("--tls") { Description = "Connect with TLS (https), whatever the address's scheme", Recursive = true };

        public Option<string?> Ca { get; } = new("--ca", "--certificate-path")
        {
            Description = "Trust only this CA (a PEM file) for the server's certificate; implies --tls",
            Recursive = true,
        };

        public Option<string?> Cert { get; } = new("--cert")
        {
            Description = "A client certificate (PEM) for a server that requires one (mutual TLS); with --key; implies --tls",
            Recursive = true,
        };

        public Option<string?> Key { get; } = new("--key")
        {
            Description = "The private key (PEM) of --cert",
            Recursive = true,
        };

        public Option<bool> Insecure { get; } = new("--insecure")
        {
            Description = "Connect in plaintext (h2c, http://), whatever the address's scheme; the key then travels unencrypted",
            Recursive = true,
        };

        public Option<string?> Context { get; } = new("--context")
        {
            Description = "Use this context of the config file instead of the current one (authzctl context list)",
            Recursive = true,
        };

        public Option<OutputFormat> Output { get; } = new("--output", "-o")
        {
            HelpName = "table|json",
            Description = "table (text for people, the default) or json (one JSON document per reply, a line each: streams print JSON lines)",
            Recursive = true,
        };

        public IEnumerable<Option> All => [Server, Token, Tls, Ca, Cert, Key, Insecure, Context, Output];

        /// <summary>
        /// The target of the call. Each setting comes from the first that has it: the option on the command line, the
        /// environment (AUTHZ_SERVER, AUTHZ_TOKEN), the context (--context, else the current one), the default
        /// (DefaultServer; the working folder's key file). --insecure on the command line overrides a context's TLS and
        /// --tls or --ca a context's --insecure. A context applies only to its own server.
        /// </summary>
        public Target Of(ParseResult result)
        {
            var (tls, ca, insecure) = TransportOf(result);
            var (cert, key) = ClientCertificateOf(result);
            // A context's key and TLS settings go only to its own server: with another server named, it is not used.
            var namedServer = result.GetValue(Server) ?? _environment("AUTHZ_SERVER");
            var context = ContextOf(result) is { } chosen && (namedServer is null || namedServer == chosen.Server) ? chosen : null;
            if (context is not null && !insecure && !tls && ca is null && cert is null)
            {
                (tls, ca, insecure) = (context.Tls, context.Ca, context.Insecure);
                (cert, key) = (context.Cert, context.Key);
            }

            var server = namedServer ?? context?.Server ?? DefaultServer;
            var token = result.GetResult(Token) is { Implicit: false } ? result.GetValue(Token)
                : string.IsNullOrWhiteSpace(_environment(TokenVariable)) && ContextToken(context) is { } fromContext ? fromContext
                : _defaultToken();
            return new Target(Address(server, tls || ca is not null || cert is not null, insecure), token, ca, cert, key);
        }

        /// <summary>--cert and --key as given on the command line: both or neither, and not with --insecure.</summary>
        public (string? Cert, string? Key) ClientCertificateOf(ParseResult result)
        {
            var (cert, key) = (result.GetValue(Cert), result.GetValue(Key));
            return (cert is null) != (key is null) ? throw new CommandLineException("--cert and --key go together: the client certificate and its private key")
                : cert is not null && result.GetValue(Insecure) ? throw new CommandLineException("--insecure contradicts --cert: a client certificate needs TLS")
                : (cert, key);
        }

        /// <summary>--tls, --ca and --insecure as given on the command line, which may not ask for both TLS and plaintext.</summary>
        public (bool Tls, string? Ca, bool Insecure) TransportOf(ParseResult result)
        {
            var (tls, ca, insecure) = (result.GetValue(Tls), result.GetValue(Ca), result.GetValue(Insecure));
            return insecure && (tls || ca is not null)
                ? throw new CommandLineException("--insecure contradicts --tls and --ca: choose plaintext or TLS")
                : (tls, ca, insecure);
        }

        /// <summary>The config file's path and its contexts.</summary>
        public (string Path, ContextConfig Config) LoadContexts()
        {
            var path = ContextConfig.PathOf(_environment);
            return (path, ContextConfig.Load(path));
        }

        private ConnectionContext? ContextOf(ParseResult result)
        {
            var (_, config) = LoadContexts();
            var name = result.GetValue(Context) ?? config.Current;
            return name is null ? null
                : config.Contexts.TryGetValue(name, out var context) ? context
                : throw new CommandLineException($"no context named '{name}' (authzctl context list shows them)");
        }

        private static string? ContextToken(ConnectionContext? context) =>
            context?.Token ?? (context?.TokenFile is { } file ? File.ReadAllText(file).Trim() : null);

        public Printer PrinterOf(ParseResult result, TextWriter output) => new(output, result.GetValue(Output));
    }

    // An address without a scheme is plaintext unless --tls; --tls and --insecure override the scheme written.
    internal static Uri Address(string server, bool tls, bool insecure)
    {
        var withScheme = server.Contains("://", StringComparison.Ordinal) ? server : "http://" + server;
        if (!Uri.TryCreate(withScheme, UriKind.Absolute, out var address) || (address.Scheme != Uri.UriSchemeHttp && address.Scheme != Uri.UriSchemeHttps))
        {
            throw new CommandLineException($"--server '{server}': expected http://host:port, https://host:port or host:port");
        }

        var scheme = tls ? Uri.UriSchemeHttps : insecure ? Uri.UriSchemeHttp : address.Scheme;
        return new UriBuilder(address) { Scheme = scheme, Port = address.Port }.Uri;
    }
}
