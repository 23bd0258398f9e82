using System.Globalization;
using AuthzGrpc.V1;
using Grpc.Net.Client;
using CoreObject = AuthzGrpc.Core.Model.ObjectRef;

namespace AuthzGrpc.Cli;

// The management commands: user add|update|delete, organization user add|update|delete|projects, members, invite.
// Each change goes through authz.v1.ManagementService, so the model's management rules judge it for the key's subject.
// Each command changes the model with one management call, so a change of several objects is atomic (R33).
internal sealed partial class AuthzCtl
{
    /// <summary>The organization's base membership, granted by <c>organization user add</c> (the default and seed models call it <c>member</c>).</summary>
    public const string OrganizationMemberRelation = "member";

    private const string SubjectHelp = "The member: type:id, type:id#relation, or a bare id for user:<id>";

    private Command UserAddCommand()
    {
        var options = new MemberOptions(rolesRequired: true);
        var command = new Command("add", "Grant roles to a member on the object and its related objects in one atomic call (ChangeRoles); roles already held stay") { options.Subject, options.On, options.Roles, options.Related };
        command.SetAction((result, cancellation) => CallAsync(result, async channel =>
        {
            var (subject, target) = options.Read(result);
            var related = options.ReadRelated(result);
            var roles = RoleArgument.ParseAll(result.GetValue(options.Roles)!);
            if (roles.Count == 0)
            {
                throw new CommandLineException("name at least one role with -r");
            }

            var clients = new ServerClients(channel);
            var candidates = roles.Any(r => r.RelatedName is not null) ? await related.ListAsync(target, clients.Authorization, cancellation) : [];
            var request = new ChangeRolesRequest { Subject = subject };
            var grants = related.Resolve(roles, target, candidates);
            request.Changes.AddRange(grants.GroupBy(grant => grant.Object)
                .Select(onObject => RoleChangeOf(onObject.Key, RoleChangeMode.Grant, onObject.Select(grant => grant.Relation))));
            PrintChanges(globals.PrinterOf(result, output), (await clients.Management.ChangeRolesAsync(request, cancellationToken: cancellation)).Changes);
            return 0;
        }));
        return command;
    }

    private Command UserUpdateCommand()
    {
        var options = new MemberOptions(rolesRequired: true);
        var command = new Command("update",
            "Make a member's roles exactly these, in one atomic call (ChangeRoles): on the object itself, and on each of its related objects (--related) where a " +
            "role is named or held now; roles elsewhere (environments, applications) stay. -r '' leaves none but the base membership")
        {
            options.Subject, options.On, options.Roles, options.Related,
        };
        command.SetAction((result, cancellation) => CallAsync(result, async channel =>
        {
            var (subject, target) = options.Read(result);
            var related = options.ReadRelated(result);
            var roles = RoleArgument.ParseAll(result.GetValue(options.Roles)!);
            var clients = new ServerClients(channel);
            var candidates = await related.ListAsync(target, clients.Authorization, cancellation);
            var wanted = related.Resolve(roles, target, candidates);

            // The object itself always gets its set; one of its related objects only when a role is named on it or the
            // member holds one there now (read from the access summary), and only when that changes something. Objects
            // of that type elsewhere (another project's environment types, under an organization) are left alone.
            var summary = await clients.Management.GetAccessSummaryAsync(new GetAccessSummaryRequest { Subject = subject, Scope = ToProto(target) }, cancellationToken: cancellation);
            var held = summary.Objects.ToDictionary(o => ToCore(o.Resource), o => o.Roles.ToHashSet(StringComparer.Ordinal));
            var sets = new Dictionary<CoreObject, List<string>> { [target] = [] };
            foreach (var (resource, relation) in wanted)
            {
                sets.TryAdd(resource, []);
                sets[resource].Add(relation);
            }

            foreach (var resource in candidates.Where(c => held.TryGetValue(c, out var now) && now.Count > 0))
            {
                sets.TryAdd(resource, []);
            }

            var request = new ChangeRolesRequest { Subject = subject };
            request.Changes.AddRange(sets.Where(s => s.Key == target || !(held.TryGetValue(s.Key, out var now) && now.SetEquals(s.Value)))
                .Select(s => RoleChangeOf(s.Key, RoleChangeMode.Set, s.Value)));
            PrintChanges(globals.PrinterOf(result, output), (await clients.Management.ChangeRolesAsync(request, cancellationToken: cancellation)).Changes);
            return 0;
        }));
        return command;
    }

    private Command UserDeleteCommand()
    {
        var options = new MemberOptions(rolesRequired: false);
        var subjects = SubjectsArgument();
        var command = new Command("delete",
            "Remove members from the object and everything it contains (RemoveMember; several at once, all or nothing: RemoveMembers); prints every role the cascade removed")
        {
            subjects, options.On,
        };
        command.SetAction((result, cancellation) => CallAsync(result, channel =>
            RemoveMembersAsync(channel, globals.PrinterOf(result, output), ReadSubjects(result, subjects), ToCore(ToObject(result.GetValue(options.On)!)), cancellation)));
        return command;
    }

    private Command OrganizationUserSetCommand(bool add)
    {
        var options = new OrganizationOptions();
        var permissions = new Option<string[]>("--permission", "--permissions")
        {
            Description = "Organization permissions, a comma list or repeated (e.g. billing,projects:create). Each is the model's flag relation " +
                $"{OrganizationPermissions.FlagPrefix}<name> with ':' written '_': billing is flag_billing, projects:create is flag_projects_create" +
                (add ? string.Empty : "; '' for none"),
        };

        // A default would satisfy Required: update has none, so that leaving --permission out cannot clear every permission.
        if (add)
        {
            permissions.DefaultValueFactory = _ => [];
        }
        else
        {
            permissions.Required = true;
        }

        var command = add
            ? new Command("add", $"Add a user to the organization ({OrganizationMemberRelation}) with these permissions besides those they hold (SetRoles)")
            : new Command("update", "Make a user's organization permissions exactly these (SetRoles); their other organization roles stay");
        command.Add(options.Subject);
        command.Add(options.Organization);
        command.Add(permissions);
        command.SetAction((result, cancellation) => CallAsync(result, async channel =>
        {
            var (subject, organization) = options.Read(result);
            var flags = OrganizationPermissions.ParseAll(result.GetValue(permissions)!);
            var clients = new ServerClients(channel);

            // SetRoles sets every role on the organization, so the user's other roles (owner, admin, ...) and, for add,
            // the flags they hold are read first and kept. A grant made between the read and the write would be undone.
            var members = await clients.Management.ListMembersAsync(new ListMembersRequest { Resource = ToProto(organization) }, cancellationToken: cancellation);
            var held = members.Members.Where(m => m.Subject.Equals(subject)).SelectMany(m => m.Roles)
                .Where(r => !r.Inherited && r.Via is null).Select(r => r.Role).ToList();
            var request = new SetRolesRequest { Resource = ToProto(organization), Subject = subject };
            request.Roles.AddRange(held.Where(r => add || !OrganizationPermissions.IsFlag(r))
                .Concat(add ? [OrganizationMemberRelation] : [])
                .Concat(flags)
                .Distinct(StringComparer.Ordinal));
            PrintChanges(globals.PrinterOf(result, output), (await clients.Management.SetRolesAsync(request, cancellationToken: cancellation)).Changes);
            return 0;
        }));
        return command;
    }

    private Command OrganizationUserDeleteCommand()
    {
        var options = new OrganizationOptions();
        var subjects = SubjectsArgument();
        var command = new Command("delete",
            "Remove users from the organization and every project in it (RemoveMember; several at once, all or nothing: RemoveMembers); prints what the cascade removed")
        {
            subjects, options.Organization,
        };
        command.SetAction((result, cancellation) => CallAsync(result, channel =>
            RemoveMembersAsync(channel, globals.PrinterOf(result, output), ReadSubjects(result, subjects), ToCore(ToObjectOrId(result.GetValue(options.Organization)!, "organization")), cancellation)));
        return command;
    }

    private Command OrganizationUserProjectsCommand()
    {
        var options = new OrganizationOptions();
        var type = new Option<string?>("--type") { Description = "Only objects of this type (e.g. project); by default every object of the organization where the user has a role or a permission" };
        var command = new Command("projects", "A user's roles and permissions on every project (and everything else) of the organization, as a table (GetAccessSummary)")
        {
            options.Subject, options.Organization, type,
        };
        command.SetAction((result, cancellation) => CallAsync(result, async channel =>
        {
            var (subject, organization) = options.Read(result);
            var only = result.GetValue(type);
            var summary = await new ServerClients(channel).Management.GetAccessSummaryAsync(
                new GetAccessSummaryRequest { Subject = subject, Scope = ToProto(organization) }, cancellationToken: cancellation);
            var shown = new GetAccessSummaryResponse();
            shown.Objects.AddRange(summary.Objects.Where(o => only is null || o.Resource.Type == only));
            globals.PrinterOf(result, output).Write(shown, text =>
            {
                if (shown.Objects.Count == 0)
                {
                    text.WriteLine($"{Describe(subject)} has no role or permission in {organization}{(only is null ? string.Empty : $" on a {only}")}");
                    return;
                }

                WriteTable(text, [["OBJECT", "ROLES", "PERMISSIONS"], .. shown.Objects.Select(o => new[] { Describe(o.Resource), List(o.Roles), List(o.Permissions) })]);
            });
            return 0;
        }));
        return command;
    }

    private Command MembersCommand()
    {
        var resource = new Argument<string>("object") { Description = "The object, type:id" };
        var contained = new Option<bool>("--contained") { Description = "Also those with roles only on objects inside it (local roles)" };
        var command = new Command("members", "List everyone with a role on the object or above it, each role with where it comes from (ListMembers)")
        {
            resource, contained,
        };
        command.SetAction((result, cancellation) => CallAsync(result, async channel =>
        {
            var target = ToObject(result.GetValue(resource)!);
            var request = new ListMembersRequest { Resource = target, IncludeContained = result.GetValue(contained) };
            var reply = await new ServerClients(channel).Management.ListMembersAsync(request, cancellationToken: cancellation);
            globals.PrinterOf(result, output).Write(reply, text =>
            {
                if (reply.Members.Count == 0)
                {
                    text.WriteLine($"{Describe(target)} has no members");
                    return;
                }

                WriteTable(text, [["MEMBER", "ROLES"], .. reply.Members.Select(m => new[]
                {
                    string.IsNullOrEmpty(m.Email) ? Describe(m.Subject) : $"{Describe(m.Subject)} <{m.Email}>",
                    string.Join(", ", m.Roles.Select(Describe)),
                })]);
            });
            return 0;
        }));
        return command;
    }

    private Command InviteCommand()
    {
        var emails = new Argument<string[]>("emails")
        {
            Description = "Email addresses, separate or as a comma list; 'address=role[,role]' gives that address its own roles (same forms as -r) instead of -r's",
            Arity = ArgumentArity.OneOrMore,
        };
        var on = OnOption();
        // The same role forms as 'user add': roles on related objects (environment types) travel in the invitation's grants.
        var options = new MemberOptions(rolesRequired: false);
        var expires = new Option<int>("--expires-in-hours") { Description = "Hours until the invitations expire (1 to 720; default: the server's, 168)" };
        var command = new Command("invite", "Invite email addresses to the object with roles, there and on its related objects (InviteMembers); prints each invitation's token, shown only this once")
        {
            emails, on, options.Roles, options.Related, expires,
        };
        command.SetAction((result, cancellation) => CallAsync(result, async channel =>
        {
            var target = ToObject(result.GetValue(on)!);
            var parsed = RoleArgument.ParseAll(result.GetValue(options.Roles) ?? []);
            var (shared, own) = InviteeArguments(result.GetValue(emails)!);
            if (shared.Count > 0 && parsed.Count == 0)
            {
                throw new CommandLineException("name at least one role with -r (or give each address its own: address=role)");
            }

            if (shared.Count == 0 && parsed.Count > 0)
            {
                throw new CommandLineException("-r applies to the addresses without '=roles', and there are none");
            }

            var clients = new ServerClients(channel);
            var related = options.ReadRelated(result);
            var home = ToCore(target);
            var candidates = parsed.Concat(own.SelectMany(o => o.Roles)).Any(r => r.RelatedName is not null) ? await related.ListAsync(home, clients.Authorization, cancellation) : [];
            var request = new InviteMembersRequest { Resource = target, ExpiresInHours = result.GetValue(expires) };
            if (shared.Count > 0)
            {
                var resolved = related.Resolve(parsed, home, candidates);
                request.Emails.AddRange(shared);
                request.Roles.AddRange(resolved.Where(r => r.Object == home).Select(r => r.Relation).Distinct(StringComparer.Ordinal));
                request.Grants.AddRange(resolved.Where(r => r.Object != home).GroupBy(r => r.Object)
                    .Select(onObject => RoleChangeOf(onObject.Key, RoleChangeMode.Grant, onObject.Select(r => r.Relation))));
            }

            request.Invitees.AddRange(own.Select(o => InviteeOf(o.Email, related.Resolve(o.Roles, home, candidates), home)));
            var reply = await clients.Management.InviteMembersAsync(request, cancellationToken: cancellation);
            globals.PrinterOf(result, output).Write(reply, text => WriteIssued(text, reply.Invitations, $"invited at revision {reply.Revision}"));
            return 0;
        }));
        return command;
    }

    // Invitations just issued with their tokens (shown only this once), then what happened.
    private static void WriteIssued(TextWriter output, IEnumerable<IssuedInvitation> invitations, string outcome)
    {
        WriteTable(output, [["EMAIL", "INVITATION", "EXPIRES", "TOKEN"], .. invitations.Select(i => new[] { i.Email, i.Id, Time(i.ExpiresAt), i.Token })]);
        output.WriteLine(outcome);
    }

    private static string Time(Google.Protobuf.WellKnownTypes.Timestamp? time) =>
        time is null ? "-" : time.ToDateTimeOffset().ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

    private static Option<string> OnOption() => new("--on") { Description = "The object the roles are on, type:id (e.g. project:storefront)", Required = true };

    // "developer (from organization:northwind, via group:platform#member)": a role and, when not held directly on the
    // object, where it comes from ("on project:web" for a role inside it).
    private static string Describe(MemberRole role)
    {
        var sources = new List<string>(2);
        if (role.Inherited || role.Contained)
        {
            sources.Add($"{(role.Contained ? "on" : "from")} {Describe(role.GrantedOn)}");
        }

        if (role.Via is { } via)
        {
            sources.Add($"via {Describe(via)}");
        }

        return sources.Count == 0 ? role.Role : $"{role.Role} ({string.Join(", ", sources)})";
    }

    private static string Describe(V1.ObjectRef resource) => $"{resource.Type}:{resource.Id}";

    // The text form, with SpiceDB's '[name:{...}]' for a caveat and '[expiration:...]' when the relationship expires
    // (what 'relationships write' takes).
    private static string Describe(Relationship relationship) =>
        $"{Describe(relationship.Resource)}#{relationship.Relation}@{Describe(relationship.Subject)}"
        + (relationship.OptionalCaveat is { } caveat
            ? new Core.Model.RelationshipCaveat(
                caveat.CaveatName,
                caveat.Context is null ? Core.Caveats.CaveatContext.Empty : Core.Caveats.CaveatContext.Parse(Google.Protobuf.JsonFormatter.Default.Format(caveat.Context))).ToString()
            : string.Empty)
        + Core.Model.Relationship.ExpirationSuffix(relationship.OptionalExpiresAt?.ToDateTimeOffset());

    private static string List(IEnumerable<string> items) => items.Any() ? string.Join(", ", items) : "-";

    // A table whose rows after the header may be none: then one line says nothing was found instead.
    private static void WriteTableOrNone(TextWriter output, string what, IReadOnlyList<string[]> rows)
    {
        if (rows.Count == 1)
        {
            output.WriteLine($"no {what} found");
            return;
        }

        WriteTable(output, rows);
    }

    // Columns padded to their widest cell, the last one unpadded so that no line ends in spaces.
    private static void WriteTable(TextWriter output, IReadOnlyList<string[]> rows)
    {
        var widths = Enumerable.Range(0, rows[0].Length - 1).Select(c => rows.Max(r => r[c].Length)).ToArray();
        foreach (var row in rows)
        {
            output.WriteLine(string.Concat(row[..^1].Select((cell, c) => cell.PadRight(widths[c] + 2))) + row[^1]);
        }
    }

    private static V1.ObjectRef ToProto(CoreObject resource) => new() { Type = resource.Type, Id = resource.Id };

    private static CoreObject ToCore(V1.ObjectRef resource) => new(resource.Type, resource.Id);

    // A bare id names an object of the default type (user:alice for "alice"); anything with ':' is parsed in full.
    private static V1.SubjectRef ToSubjectOrId(string text, string defaultType) =>
        ToSubject(text.Contains(':', StringComparison.Ordinal) ? text : $"{defaultType}:{text}");

    private static V1.ObjectRef ToObjectOrId(string text, string defaultType) =>
        ToObject(text.Contains(':', StringComparison.Ordinal) ? text : $"{defaultType}:{text}");

    // The two clients a management command may use on one channel.
    private sealed class ServerClients(GrpcChannel channel)
    {
        public AuthorizationService.AuthorizationServiceClient Authorization { get; } = new(channel);

        public ManagementService.ManagementServiceClient Management { get; } = new(channel);
    }

    // <subject> --on <object> -r <role>... --related <relation[:type]> of the user commands (new options per command).
    private sealed class MemberOptions(bool rolesRequired)
    {
        public Argument<string> Subject { get; } = new("subject") { Description = SubjectHelp };

        public Option<string> On { get; } = OnOption();

        public Option<string[]> Roles { get; } = new("--role", "-r")
        {
            Description = "Roles, a comma list or repeated: 'admin' (on --on itself), 'development:contributor' (on the related object " +
                "--related whose id is development or ends with _development or -development), or 'environment_type:storefront_development#contributor' (in full)",
            Required = rolesRequired,
        };

        public Option<string> Related { get; } = new("--related")
        {
            Description = "Where the short form name:role looks: the relation of --on that holds the related objects, 'relation' " +
                $"(objects of the type of the same name) or 'relation:type'; {RelatedObjects.DefaultText} is a project's environment types",
            DefaultValueFactory = _ => RelatedObjects.DefaultText,
        };

        public (V1.SubjectRef Subject, CoreObject Target) Read(ParseResult result) =>
            (ToSubjectOrId(result.GetValue(Subject)!, "user"), ToCore(ToObject(result.GetValue(On)!)));

        public RelatedObjects ReadRelated(ParseResult result) => RelatedObjects.Parse(result.GetValue(Related)!);
    }

    // <subject> --organization <id> of the organization commands.
    private sealed class OrganizationOptions
    {
        public Argument<string> Subject { get; } = new("subject") { Description = SubjectHelp };

        public Option<string> Organization { get; } = new("--organization", "--org")
        {
            Description = "The organization: an id (organization:<id>) or type:id",
            Required = true,
        };

        public (V1.SubjectRef Subject, CoreObject Organization) Read(ParseResult result) => (
            ToSubjectOrId(result.GetValue(Subject)!, "user"),
            ToCore(ToObjectOrId(result.GetValue(Organization)!, "organization")));
    }

    // One object's part of a ChangeRoles call.
    private static RoleChange RoleChangeOf(CoreObject resource, RoleChangeMode mode, IEnumerable<string> roles)
    {
        var change = new RoleChange { Resource = ToProto(resource), Mode = mode };
        change.Roles.AddRange(roles);
        return change;
    }

    // Prints what a management call changed: "- relationship" removed, "+ relationship" added, then the revision.
    private static void PrintChanges(Printer printer, ManagementChanges changes) => printer.Write(changes, output =>
    {
        foreach (var removed in changes.Removed)
        {
            output.WriteLine("- " + Describe(removed));
        }

        foreach (var added in changes.Added)
        {
            output.WriteLine("+ " + Describe(added));
        }

        var changed = changes.Removed.Count > 0 || changes.Added.Count > 0;
        output.WriteLine(changed ? $"changed at revision {changes.Revision}" : $"no change at revision {changes.Revision}");
    });
}
