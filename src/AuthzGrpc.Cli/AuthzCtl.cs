using System.CommandLine;
using AuthzGrpc.Core.Schema;
using AuthzGrpc.Core.Validation;
using AuthzGrpc.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace AuthzGrpc.Cli;

/// <summary>
/// <c>authzctl</c>: validates models offline, asks a running server for decisions, and manages members, roles and
/// organization permissions through its ManagementService. Text forms follow the API: <c>type:id</c> for objects,
/// <c>type:id#relation</c> for subject sets.
/// </summary>
internal static partial class AuthzCtl
{
    /// <summary>Where the server is unless <c>--server</c> or <c>AUTHZ_SERVER</c> says otherwise.</summary>
    public const string DefaultServer = "http://127.0.0.1:50051";

    /// <summary>The environment variable holding the API key to send unless <c>--token</c> is given.</summary>
    public const string TokenVariable = "AUTHZ_TOKEN";

    /// <summary>The key file a server started with the default configuration writes, relative to its working folder.</summary>
    public static readonly string TokenFile = Path.Combine(".data", "bootstrap.key");

    /// <summary>Parses <paramref name="args"/> and runs the command; returns the process exit code.</summary>
    public static Task<int> RunAsync(string[] args, TextWriter output, TextWriter error) =>
        RunAsync(args, output, error, Directory.GetCurrentDirectory(), Environment.GetEnvironmentVariable);

    /// <summary>
    /// As <see cref="RunAsync(string[], TextWriter, TextWriter)"/>, with the working folder and the environment the
    /// default key is looked up in (<see cref="DefaultToken"/>).
    /// </summary>
    internal static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, string workingFolder, Func<string, string?> environment)
    {
        var configuration = new InvocationConfiguration { Output = output, Error = error };
        return await CreateRoot(output, error, workingFolder, environment).Parse(args).InvokeAsync(configuration);
    }

    /// <summary>
    /// The command tree. The default key is looked up when a command runs, never shown: help prints where it comes
    /// from, not what it is (a default value would be printed by --help).
    /// </summary>
    internal static RootCommand CreateRoot(TextWriter output, TextWriter error, string workingFolder, Func<string, string?> environment)
    {
        var server = new Option<string>("--server")
        {
            Description = $"The server's address (default: $AUTHZ_SERVER or {DefaultServer})",
            DefaultValueFactory = _ => environment("AUTHZ_SERVER") ?? DefaultServer,
            Recursive = true,
        };
        var token = new Option<string?>("--token")
        {
            Description = $"The API key to send as 'authorization: Bearer <key>' (default: ${TokenVariable}, else the content of {TokenFile} " +
                "in the working folder, where scripts/run.sh's server writes its generated admin key)",
            Recursive = true,
        };
        var connection = new Connection(server, token, () => DefaultToken(workingFolder, environment));
        return new RootCommand("authzctl: validate AuthzGrpc models, query a server and manage its members")
        {
            server,
            token,
            ValidateCommand(output, error),
            CheckCommand(connection, output, error, explain: false),
            CheckCommand(connection, output, error, explain: true),
            LookupResourcesCommand(connection, output, error),
            LookupSubjectsCommand(connection, output, error),
            UserCommand(connection, output, error),
            OrganizationCommand(connection, output, error),
            MembersCommand(connection, output, error),
            InviteCommand(connection, output, error),
            ResourceCommand(connection, output, error),
        };
    }

    /// <summary>
    /// The key to send when <c>--token</c> is not given: <c>AUTHZ_TOKEN</c>, else the content of
    /// <c>.data/bootstrap.key</c> under <paramref name="workingFolder"/>, else null (calls go without credentials).
    /// </summary>
    internal static string? DefaultToken(string workingFolder, Func<string, string?> environment)
    {
        if (environment(TokenVariable) is { } variable && !string.IsNullOrWhiteSpace(variable))
        {
            return variable.Trim();
        }

        var file = Path.Combine(workingFolder, TokenFile);
        try
        {
            return File.Exists(file) && File.ReadAllText(file).Trim() is { Length: > 0 } key ? key : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static Command ValidateCommand(TextWriter output, TextWriter error)
    {
        var files = new Argument<string[]>("files")
        {
            Description = "Validation files (SpiceDB's format: schema, relationships, assertions, validation; plus management cases), or bare schema files (.zed)",
            Arity = ArgumentArity.OneOrMore,
        };
        var command = new Command("validate", "Run validation files offline: every assertion, expected subject list and management case must hold") { files };
        command.SetAction((result, _) =>
        {
            var failed = 0;
            foreach (var file in result.GetValue(files)!)
            {
                failed += ValidateFile(file, output, error) ? 0 : 1;
            }

            return Task.FromResult(failed == 0 ? 0 : 1);
        });
        return command;
    }

    private static bool ValidateFile(string file, TextWriter output, TextWriter error)
    {
        try
        {
            // A bare schema (.zed) is a file with nothing to assert: validating it compiles it.
            var validation = Path.GetExtension(file).Equals(".zed", StringComparison.OrdinalIgnoreCase)
                ? ValidationFile.ForSchema(File.ReadAllText(file))
                : ValidationFile.Load(file);
            var failures = validation.Run().Select(f => f.ToString()).Concat(validation.RunExpected()).Concat(validation.RunManagement()).ToList();
            foreach (var failure in failures)
            {
                error.WriteLine($"{file}: {failure}");
            }

            var summary = $"{validation.Assertions.Count} assertions, {validation.Management.Count} management cases"
                + (validation.Expected.Count > 0 ? $", {validation.Expected.Count} expected subject lists" : string.Empty);
            output.WriteLine(failures.Count == 0 ? $"{file}: ok ({summary})" : $"{file}: {failures.Count} failed ({summary})");
            return failures.Count == 0;
        }
        catch (SchemaException e)
        {
            error.WriteLine($"{file}: schema {e.Message}");
            return false;
        }
        catch (Exception e) when (e is FormatException or IOException or AuthzGrpc.Core.AuthzException)
        {
            error.WriteLine($"{file}: {e.Message}");
            return false;
        }
    }

    private static Command CheckCommand(Connection server, TextWriter output, TextWriter error, bool explain)
    {
        var resource = new Argument<string>("resource") { Description = "The resource, type:id" };
        var action = new Argument<string>("action") { Description = "The permission or relation" };
        var subject = new Argument<string>("subject") { Description = "The subject, type:id or type:id#relation" };

        // A management check (R25): the action is a management operation and the context names its role and subject.
        var management = new Option<bool>("--management")
        {
            Description = "Ask whether the subject's management call would be accepted: the action is grant, revoke, remove, invite, transfer, leave or delete (implied by --target-role and --target-subject)",
        };
        var targetRole = new Option<string?>("--target-role") { Description = "The role the management action grants, revokes, invites to or transfers, e.g. owner" };
        var targetSubject = new Option<string?>("--target-subject") { Description = "The subject the management action acts on, e.g. user:bob" };
        var command = explain
            ? new Command("explain", "Ask the server why the subject may or may not do the action") { resource, action, subject, management, targetRole, targetSubject }
            : new Command("check", "Ask the server whether the subject may do the action on the resource (exit 0: allowed, 2: denied)") { resource, action, subject, management, targetRole, targetSubject };
        command.SetAction((result, cancellation) => CallAsync(server.Of(result), error, async client =>
        {
            var request = (Resource: ToObject(result.GetValue(resource)!), Action: result.GetValue(action)!, Subject: ToSubject(result.GetValue(subject)!));
            var (role, target) = (result.GetValue(targetRole), result.GetValue(targetSubject));
            var context = result.GetValue(management) || role is not null || target is not null
                ? new CheckContext { TargetRole = role ?? string.Empty, TargetSubject = target is null ? null : ToSubject(target) }
                : null;
            if (explain)
            {
                var reply = await client.ExplainAsync(new ExplainRequest { Resource = request.Resource, Action = request.Action, Subject = request.Subject, Context = context }, cancellationToken: cancellation);
                WriteStep(output, reply.Root, 0);
                output.WriteLine($"{Describe(reply.Decision)} at revision {reply.Revision}");
                return reply.Decision == Decision.Allowed ? 0 : 2;
            }

            var check = await client.CheckAsync(new CheckRequest { Resource = request.Resource, Action = request.Action, Subject = request.Subject, Context = context }, cancellationToken: cancellation);
            output.WriteLine($"{Describe(check.Decision)} at revision {check.Revision}");
            return check.Decision == Decision.Allowed ? 0 : 2;
        }));
        return command;
    }

    private static Command LookupResourcesCommand(Connection server, TextWriter output, TextWriter error)
    {
        var type = new Argument<string>("resource-type") { Description = "The type of resource to list" };
        var action = new Argument<string>("action") { Description = "The permission or relation" };
        var subject = new Argument<string>("subject") { Description = "The subject, type:id or type:id#relation" };
        var page = new PageOptions();
        var command = new Command("lookup-resources", "List the resources of a type on which the subject has the action") { type, action, subject, page.Limit, page.Cursor };
        command.SetAction((result, cancellation) => CallAsync(server.Of(result), error, async client =>
        {
            var request = new LookupResourcesRequest
            {
                ResourceType = result.GetValue(type)!,
                Action = result.GetValue(action)!,
                Subject = ToSubject(result.GetValue(subject)!),
                Limit = result.GetValue(page.Limit),
                Cursor = result.GetValue(page.Cursor) ?? string.Empty,
            };
            using var call = client.LookupResources(request, cancellationToken: cancellation);
            await WritePageAsync(call.ResponseStream, request.Limit, output, reply => $"{reply.Resource.Type}:{reply.Resource.Id}", reply => reply.AfterResultCursor, cancellation);
            return 0;
        }));
        return command;
    }

    private static Command LookupSubjectsCommand(Connection server, TextWriter output, TextWriter error)
    {
        var resource = new Argument<string>("resource") { Description = "The resource, type:id" };
        var action = new Argument<string>("action") { Description = "The permission or relation" };
        var type = new Argument<string>("subject-type") { Description = "The type of subject to list" };
        var page = new PageOptions();
        var command = new Command("lookup-subjects", "List the subjects of a type that have the action on the resource") { resource, action, type, page.Limit, page.Cursor };
        command.SetAction((result, cancellation) => CallAsync(server.Of(result), error, async client =>
        {
            var request = new LookupSubjectsRequest
            {
                Resource = ToObject(result.GetValue(resource)!),
                Action = result.GetValue(action)!,
                SubjectType = result.GetValue(type)!,
                Limit = result.GetValue(page.Limit),
                Cursor = result.GetValue(page.Cursor) ?? string.Empty,
            };
            using var call = client.LookupSubjects(request, cancellationToken: cancellation);
            await WritePageAsync(call.ResponseStream, request.Limit, output, DescribeLookedUp, reply => reply.AfterResultCursor, cancellation);
            return 0;
        }));
        return command;
    }

    private static string DescribeLookedUp(LookupSubjectsResponse reply) =>
        reply.ExcludedSubjects.Count == 0
            ? Describe(reply.Subject)
            : $"{Describe(reply.Subject)} except {string.Join(", ", reply.ExcludedSubjects.Select(Describe))}";

    // Prints a lookup's page as it streams, a line per result; a full page may have more after it, so it ends with the
    // cursor that resumes after its last result.
    private static async Task WritePageAsync<TReply>(
        IAsyncStreamReader<TReply> replies, uint limit, TextWriter output, Func<TReply, string> line, Func<TReply, string> afterResultCursor, CancellationToken cancellation)
    {
        uint count = 0;
        var lastCursor = string.Empty;
        await foreach (var reply in replies.ReadAllAsync(cancellation))
        {
            output.WriteLine(line(reply));
            count++;
            lastCursor = afterResultCursor(reply);
        }

        if (limit > 0 && count == limit)
        {
            output.WriteLine($"next cursor: {lastCursor}");
        }
    }

    private static Task<int> CallAsync(
        (string Server, string? Token) target, TextWriter error, Func<AuthorizationService.AuthorizationServiceClient, Task<int>> call) =>
        CallAsync(target, error, channel => call(new AuthorizationService.AuthorizationServiceClient(channel)));

    // Runs calls against the server; malformed arguments and server errors print one line (never a stack trace) and exit 1.
    private static async Task<int> CallAsync((string Server, string? Token) target, TextWriter error, Func<GrpcChannel, Task<int>> call)
    {
        var server = target.Server;
        try
        {
            using var channel = CreateChannel(server, target.Token);
            return await call(channel);
        }
        catch (Exception e) when (e is FormatException or CommandLineException)
        {
            error.WriteLine(e.Message);
            return 1;
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Unavailable)
        {
            error.WriteLine($"cannot reach the server at {server} (start it with scripts/run.sh, or pass --server): {e.Status.Detail}");
            return 1;
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Unauthenticated)
        {
            var sent = string.IsNullOrEmpty(target.Token) ? "no API key was sent" : "the API key sent was refused";
            error.WriteLine($"{e.StatusCode}: {e.Status.Detail} ({sent}: pass --token, set {TokenVariable}, or run where {TokenFile} is)");
            return 1;
        }
        catch (RpcException e)
        {
            error.WriteLine($"{e.StatusCode}: {e.Status.Detail}");
            return 1;
        }
    }

    // Every call carries "authorization: Bearer <token>" when there is a token. Over plaintext h2c the call credentials
    // must be allowed explicitly: the key then travels unencrypted, which is what loopback h2c means.
    private static GrpcChannel CreateChannel(string server, string? token)
    {
        if (string.IsNullOrEmpty(token))
        {
            return GrpcChannel.ForAddress(server);
        }

        var bearer = CallCredentials.FromInterceptor((_, metadata) =>
        {
            metadata.Add("authorization", "Bearer " + token);
            return Task.CompletedTask;
        });
        var secure = server.StartsWith("https://", StringComparison.OrdinalIgnoreCase);
        return GrpcChannel.ForAddress(server, new GrpcChannelOptions
        {
            Credentials = ChannelCredentials.Create(secure ? ChannelCredentials.SecureSsl : ChannelCredentials.Insecure, bearer),
            UnsafeUseInsecureChannelCallCredentials = !secure,
        });
    }

    private static void WriteStep(TextWriter output, ExplainStep step, int depth)
    {
        var reason = string.IsNullOrEmpty(step.Reason) ? string.Empty : $" ({step.Reason})";
        output.WriteLine($"{new string(' ', depth * 2)}{(step.Result ? "[+]" : "[-]")} {step.Step}{reason}");
        foreach (var child in step.Children)
        {
            WriteStep(output, child, depth + 1);
        }
    }

    private static string Describe(Decision decision) => decision == Decision.Allowed ? "ALLOWED" : "DENIED";

    private static string Describe(V1.SubjectRef subject) =>
        string.IsNullOrEmpty(subject.Relation) ? $"{subject.Object.Type}:{subject.Object.Id}" : $"{subject.Object.Type}:{subject.Object.Id}#{subject.Relation}";

    private static V1.ObjectRef ToObject(string text)
    {
        var parsed = Core.Model.ObjectRef.Parse(text);
        return new V1.ObjectRef { Type = parsed.Type, Id = parsed.Id };
    }

    private static V1.SubjectRef ToSubject(string text)
    {
        var parsed = Core.Model.SubjectRef.Parse(text);
        return new V1.SubjectRef { Object = new V1.ObjectRef { Type = parsed.Type, Id = parsed.Id }, Relation = parsed.Relation ?? string.Empty };
    }

    // --limit and --cursor of the lookup commands (a new pair per command: an option belongs to one command).
    private sealed class PageOptions
    {
        public Option<uint> Limit { get; } = new("--limit")
        {
            Description = "List at most this many (a page; the server caps it, 1000 by default); 0, the default, lists all. " +
                "When the page is full, the last line is 'next cursor: <cursor>'",
        };

        public Option<string?> Cursor { get; } = new("--cursor")
        {
            Description = "Resume after the result a cursor came from (the <cursor> of a 'next cursor:' line of the same lookup)",
        };
    }

    // The server address and the key to send, as parsed from the command line; without --token, the default key.
    // (--token "" sends none: only an absent option falls back to the default.)
    private sealed class Connection(Option<string> server, Option<string?> token, Func<string?> defaultToken)
    {
        public (string Server, string? Token) Of(ParseResult result) =>
            (result.GetValue(server)!, result.GetResult(token) is { Implicit: false } ? result.GetValue(token) : defaultToken());
    }
}
