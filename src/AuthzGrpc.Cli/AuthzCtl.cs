using System.CommandLine.Help;
using System.CommandLine.Invocation;
using AuthzGrpc.Core.Schema;
using AuthzGrpc.Core.Validation;
using AuthzGrpc.V1;
using Grpc.Core;

namespace AuthzGrpc.Cli;

/// <summary>
/// <c>authzctl</c>: validates models offline; reads and writes a server's schema and relationships (export, import,
/// watch); asks it for decisions; manages members, invitations and API keys; keeps named contexts. Text forms follow
/// the API: <c>type:id</c> for objects, <c>type:id#relation</c> for subject sets, <c>type:id#relation@subject</c> for
/// relationships. One file per command family (AuthzCtl.*.cs); every server call goes through CallAsync.
/// </summary>
internal sealed partial class AuthzCtl(AuthzCtl.GlobalOptions globals, TextWriter output, TextWriter error)
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
        var parsed = CreateRoot(output, error, workingFolder, environment).Parse(args);
        var exit = await parsed.InvokeAsync(configuration);

        // A parse error prints its message and help's hint; its exit code is the usage error's. (Help with missing
        // arguments is not an error: its action clears them.)
        return parsed.Action is ParseErrorAction ? ExitCodes.Usage : exit;
    }

    /// <summary>
    /// The command tree. The default key is looked up when a command runs, never shown: help prints where it comes
    /// from, not what it is (a default value would be printed by --help).
    /// </summary>
    internal static RootCommand CreateRoot(TextWriter output, TextWriter error, string workingFolder, Func<string, string?> environment) =>
        new AuthzCtl(new GlobalOptions(environment, () => DefaultToken(workingFolder, environment)), output, error).Root();

    // Every command, in the order help lists them; one file per family builds its commands (AuthzCtl.*.cs).
    private RootCommand Root()
    {
        var root = new RootCommand("authzctl: validate AuthzGrpc models, query a server and manage its schema, relationships, members and keys")
        {
            ValidateCommand(),
            new Command("schema", "Read, write, compare and validate the schema")
            {
                SchemaReadCommand(),
                SchemaWriteCommand(),
                SchemaDiffCommand(),
                SchemaValidateCommand(),
            },
            new Command("relationship", "Write, delete, read, export and import relationships")
            {
                RelationshipUpdateCommand("write", Operation.Create, "Add relationships, all or none in one call; one already stored fails the call (ALREADY_EXISTS, exit 4)"),
                RelationshipUpdateCommand("touch", Operation.Touch, "Add relationships that are missing, all in one call; those already stored are left as they are"),
                RelationshipUpdateCommand("delete", Operation.Delete, "Remove relationships, all in one call; those not stored are ignored"),
                RelationshipReadCommand(),
                RelationshipExportCommand(),
                RelationshipImportCommand(),
            },
            WatchCommand(),
            new Command("context", "Named connections (server, key, TLS) kept in the config file; explicit options override the context's")
            {
                ContextAddCommand(),
                ContextUseCommand(),
                ContextListCommand(),
                ContextRemoveCommand(),
            },
            CheckCommand(explain: false),
            CheckCommand(explain: true),
            LookupResourcesCommand(),
            LookupSubjectsCommand(),
            new Command("user", "Add, update and remove a member's roles on an object (a project, ...)")
            {
                UserAddCommand(),
                UserUpdateCommand(),
                UserDeleteCommand(),
            },
            new Command("organization", "Manage the users of an organization and their organization permissions")
            {
                new Command("user", "Add, update and remove organization users; show a user's access across the organization")
                {
                    OrganizationUserSetCommand(add: true),
                    OrganizationUserSetCommand(add: false),
                    OrganizationUserDeleteCommand(),
                    OrganizationUserProjectsCommand(),
                },
            },
            MembersCommand(),
            InviteCommand(),
            new Command("invitation", "List, accept, resend and revoke invitations ('invite' creates them)")
            {
                InvitationListCommand(),
                InvitationAcceptCommand(),
                InvitationResendCommand(),
                InvitationRevokeCommand(),
            },
            new Command("apikey", "Create, list and revoke API keys (admin keys only)")
            {
                ApiKeyCreateCommand(),
                ApiKeyListCommand(),
                ApiKeyRevokeCommand(),
            },
            new Command("backup",
                "The whole state of a server (schema, relationships, records, invitations, API keys, audit log) to a file, and into a new server (admin keys only)")
            {
                BackupCreateCommand(),
                BackupRestoreCommand(),
            },
            ResourceCommand(),
        };
        foreach (var option in globals.All)
        {
            root.Add(option);
        }

        root.Add(CompletionCommand(root, output));

        // The root's help ends with the exit codes (System.CommandLine has no epilogue of its own).
        var help = root.Options.OfType<HelpOption>().Single();
        help.Action = new HelpWithExitCodes((HelpAction)help.Action!, output);
        return root;
    }

    private static Command CompletionCommand(RootCommand root, TextWriter output)
    {
        var shell = new Argument<string>("shell") { Description = "bash, zsh or fish" };
        shell.AcceptOnlyFromAmong(CompletionScript.Shells);
        var command = new Command("completion", "Print a completion script for the shell: e.g. 'source <(authzctl completion bash)' in ~/.bashrc") { shell };
        command.SetAction(result => output.Write(CompletionScript.For(result.GetValue(shell)!, root)));
        return command;
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

    private Command ValidateCommand()
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

            return Task.FromResult(failed == 0 ? ExitCodes.Success : ExitCodes.No);
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

    private Command CheckCommand(bool explain)
    {
        var resource = ResourceArgument();
        var action = ActionArgument();
        var subject = SubjectArgument();

        // A management check (R25): the action is a management operation and the context names its role and subject.
        var management = new Option<bool>("--management")
        {
            Description = "Ask whether the subject's management call would be accepted: the action is grant, revoke, remove, invite, transfer, leave or delete (implied by --target-role and --target-subject)",
        };
        var targetRole = new Option<string?>("--target-role") { Description = "The role the management action grants, revokes, invites to or transfers, e.g. owner" };
        var targetSubject = new Option<string?>("--target-subject") { Description = "The subject the management action acts on, e.g. user:bob" };
        var caveatContext = new Option<string?>("--caveat-context")
        {
            Description = "Values for the parameters of the schema's caveats, a JSON object, e.g. '{\"user_ip\": \"10.0.0.1\"}'; without one a caveat that needs a value answers CONDITIONAL",
        };
        var consistency = ConsistencyOption();
        var command = explain
            ? new Command("explain", "Ask the server why the subject may or may not do the action (exit 0: allowed, 1: denied or conditional)") { resource, action, subject, management, targetRole, targetSubject, caveatContext, consistency }
            : new Command("check", "Ask the server whether the subject may do the action on the resource (exit 0: allowed, 1: denied or conditional)") { resource, action, subject, management, targetRole, targetSubject, caveatContext, consistency };
        command.SetAction((result, cancellation) => CallAsync(result, async client =>
        {
            var request = (Resource: ToObject(result.GetValue(resource)!), Action: result.GetValue(action)!, Subject: ToSubject(result.GetValue(subject)!));
            var (role, target) = (result.GetValue(targetRole), result.GetValue(targetSubject));
            var context = result.GetValue(management) || role is not null || target is not null
                ? new CheckContext { TargetRole = role ?? string.Empty, TargetSubject = target is null ? null : ToSubject(target) }
                : null;
            var caveats = CaveatContext(result.GetValue(caveatContext));
            var printer = globals.PrinterOf(result, output);
            if (explain)
            {
                var reply = await client.ExplainAsync(
                    new ExplainRequest
                    {
                        Resource = request.Resource, Action = request.Action, Subject = request.Subject, Context = context, CaveatContext = caveats,
                        Consistency = result.GetValue(consistency),
                    },
                    cancellationToken: cancellation);
                printer.Write(reply, text =>
                {
                    WriteStep(text, reply.Root, 0);
                    text.WriteLine($"{Describe(reply.Decision, reply.PartialCaveatInfo)} at revision {reply.Revision}");
                });
                return DecisionExit(reply.Decision);
            }

            var check = await client.CheckAsync(
                new CheckRequest
                {
                    Resource = request.Resource, Action = request.Action, Subject = request.Subject, Context = context, CaveatContext = caveats,
                    Consistency = result.GetValue(consistency),
                },
                cancellationToken: cancellation);
            printer.Write(check, text => text.WriteLine($"{Describe(check.Decision, check.PartialCaveatInfo)} at revision {check.Revision}"));
            return DecisionExit(check.Decision);
        }));
        return command;
    }

    // The arguments check, explain and the lookups share (a new one per command: an argument belongs to one command).
    private static Argument<string> ResourceArgument() => new("resource") { Description = "The resource, type:id" };

    private static Argument<string> ActionArgument() => new("action") { Description = "The permission or relation" };

    private static Argument<string> SubjectArgument() => new("subject") { Description = "The subject, type:id or type:id#relation" };

    // --caveat-context as the API takes it; text that is not a JSON object is a usage error.
    private static Google.Protobuf.WellKnownTypes.Struct? CaveatContext(string? json)
    {
        try
        {
            return json is null ? null : Google.Protobuf.JsonParser.Default.Parse<Google.Protobuf.WellKnownTypes.Struct>(json);
        }
        catch (Exception e) when (e is Google.Protobuf.InvalidJsonException or Google.Protobuf.InvalidProtocolBufferException)
        {
            throw new FormatException($"--caveat-context: not a JSON object ({e.Message})", e);
        }
    }

    // Anything but ALLOWED (including an unspecified decision, or a conditional one) is a denial.
    private static int DecisionExit(Decision decision) => decision == Decision.Allowed ? ExitCodes.Success : ExitCodes.No;

    private Command LookupResourcesCommand()
    {
        var type = new Argument<string>("resource-type") { Description = "The type of resource to list" };
        var action = ActionArgument();
        var subject = SubjectArgument();
        return LookupCommand(
            new Command("lookup-resources", "List the resources of a type on which the subject has the action") { type, action, subject },
            (result, page, client, cancellation) => client.LookupResources(
                new LookupResourcesRequest { ResourceType = result.GetValue(type)!, Action = result.GetValue(action)!, Subject = ToSubject(result.GetValue(subject)!), Limit = page.Limit, Cursor = page.Cursor, Consistency = page.Consistency },
                cancellationToken: cancellation),
            reply => $"{reply.Resource.Type}:{reply.Resource.Id}",
            reply => reply.AfterResultCursor,
            "resources");
    }

    private Command LookupSubjectsCommand()
    {
        var resource = ResourceArgument();
        var action = ActionArgument();
        var type = new Argument<string>("subject-type") { Description = "The type of subject to list, or type#relation for its subject sets (e.g. group#member)" };
        return LookupCommand(
            new Command("lookup-subjects", "List the subjects of a type (or the subject sets, type#relation) that have the action on the resource") { resource, action, type },
            (result, page, client, cancellation) =>
            {
                // type#relation asks for subject sets: the request's subject_relation.
                var subjectType = result.GetValue(type)!.Split('#', 2);
                return client.LookupSubjects(
                    new LookupSubjectsRequest
                    {
                        Resource = ToObject(result.GetValue(resource)!), Action = result.GetValue(action)!, SubjectType = subjectType[0], SubjectRelation = subjectType.Length == 2 ? subjectType[1] : string.Empty,
                        Limit = page.Limit, Cursor = page.Cursor, Consistency = page.Consistency,
                    },
                    cancellationToken: cancellation);
            },
            DescribeLookedUp,
            reply => reply.AfterResultCursor,
            "subjects");
    }

    // A lookup command: its own arguments, then --limit, --cursor and --consistency; the call streams one page, printed
    // as it arrives (WritePageAsync).
    private Command LookupCommand<TReply>(
        Command command,
        Func<ParseResult, LookupPage, AuthorizationService.AuthorizationServiceClient, CancellationToken, AsyncServerStreamingCall<TReply>> start,
        Func<TReply, string> line,
        Func<TReply, string> afterResultCursor,
        string found)
        where TReply : Google.Protobuf.IMessage
    {
        var page = new PageOptions();
        var consistency = ConsistencyOption();
        command.Add(page.Limit);
        command.Add(page.Cursor);
        command.Add(consistency);
        command.SetAction((result, cancellation) => CallAsync(result, async client =>
        {
            var asked = new LookupPage(result.GetValue(page.Limit), result.GetValue(page.Cursor) ?? string.Empty, result.GetValue(consistency));
            using var call = start(result, asked, client, cancellation);
            var printer = globals.PrinterOf(result, output);
            var count = await WritePageAsync(call.ResponseStream, asked.Limit, printer, line, afterResultCursor, cancellation);
            // A resumed page that is empty ends the paging: nothing after the cursor.
            printer.WriteNoneFoundIfEmpty(count, asked.Cursor.Length == 0 ? found : $"more {found}");
            return ExitCodes.Success;
        }));
        return command;
    }

    private static string DescribeLookedUp(LookupSubjectsResponse reply) =>
        reply.ExcludedSubjects.Count == 0
            ? Describe(reply.Subject)
            : $"{Describe(reply.Subject)} except {string.Join(", ", reply.ExcludedSubjects.Select(Describe))}";

    // Prints a lookup's page as it streams, a line per result; a full page may have more after it, so it ends with the
    // cursor that resumes after its last result. Returns how many results it printed.
    // In JSON, each line is a reply, which carries its own cursor.
    private static async Task<int> WritePageAsync<TReply>(
        IAsyncStreamReader<TReply> replies, uint limit, Printer printer, Func<TReply, string> line, Func<TReply, string> afterResultCursor, CancellationToken cancellation)
        where TReply : Google.Protobuf.IMessage
    {
        uint count = 0;
        var lastCursor = string.Empty;
        await foreach (var reply in replies.ReadAllAsync(cancellation))
        {
            printer.Write(reply, text => text.WriteLine(line(reply)));
            count++;
            lastCursor = afterResultCursor(reply);
        }

        if (limit > 0 && count == limit && !printer.IsJson)
        {
            printer.Output.WriteLine($"next cursor: {lastCursor}");
        }

        return (int)count;
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

    private static string Describe(Decision decision, PartialCaveatInfo? missing = null) => decision switch
    {
        Decision.Allowed => "ALLOWED",
        Decision.Conditional => $"CONDITIONAL (supply {string.Join(", ", missing?.MissingRequiredContext ?? [])} in --caveat-context)",
        _ => "DENIED",
    };

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

    // The page a lookup asks for: --limit, --cursor and --consistency as given.
    private sealed record LookupPage(uint Limit, string Cursor, Consistency? Consistency);

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
}
