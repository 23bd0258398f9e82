using AuthzGrpc.V1;
using Grpc.Net.Client;
using CoreObject = AuthzGrpc.Core.Model.ObjectRef;

namespace AuthzGrpc.Cli;

// The commands over several subjects at once (user delete / organization user delete with several users, invite with a
// role per address) and the object records (resource get / list: an environment's type and production mark).
internal sealed partial class AuthzCtl
{
    // The members a delete command removes: one or more, each possibly a comma list.
    private static Argument<string[]> SubjectsArgument() => new("subjects")
    {
        Description = "The members, separate or as a comma list: type:id, type:id#relation, or a bare id for user:<id>; several are removed in one call, all or nothing",
        Arity = ArgumentArity.OneOrMore,
    };

    private static List<V1.SubjectRef> ReadSubjects(ParseResult result, Argument<string[]> subjects) =>
        [.. result.GetValue(subjects)!.SelectMany(s => s.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)).Select(s => ToSubjectOrId(s, "user"))];

    // One member: RemoveMember; several: one RemoveMembers (all or nothing). Prints every relationship the cascades removed.
    private static async Task<int> RemoveMembersAsync(GrpcChannel channel, Printer printer, List<V1.SubjectRef> subjects, CoreObject resource, CancellationToken cancellation)
    {
        var management = new ServerClients(channel).Management;
        if (subjects.Count == 1)
        {
            PrintChanges(printer, (await management.RemoveMemberAsync(new RemoveMemberRequest { Resource = ToProto(resource), Subject = subjects[0] }, cancellationToken: cancellation)).Changes);
            return 0;
        }

        var request = new RemoveMembersRequest { Resource = ToProto(resource) };
        request.Subjects.AddRange(subjects);
        PrintChanges(printer, (await management.RemoveMembersAsync(request, cancellationToken: cancellation)).Changes);
        return 0;
    }

    // The invite command's addresses: those that take -r's roles, and those written address=role[,role] with their own.
    private static (List<string> Shared, List<(string Email, IReadOnlyList<RoleArgument> Roles)> Own) InviteeArguments(IEnumerable<string> values)
    {
        var shared = new List<string>();
        var own = new List<(string, IReadOnlyList<RoleArgument>)>();
        foreach (var value in values)
        {
            var equals = value.IndexOf('=', StringComparison.Ordinal);
            if (equals < 0)
            {
                shared.Add(value);
                continue;
            }

            var (email, roles) = (value[..equals].Trim(), RoleArgument.ParseAll([value[(equals + 1)..]]));
            if (email.Length == 0 || email.Contains(',', StringComparison.Ordinal) || roles.Count == 0)
            {
                throw new CommandLineException($"'{value}': write one address and its roles, as address=role[,role]");
            }

            own.Add((email, roles));
        }

        return (shared, own);
    }

    // One invitee of InviteMembers: its roles on the invitation's object, and those on other objects as grants.
    private static Invitee InviteeOf(string email, IReadOnlyList<(CoreObject Object, string Relation)> roles, CoreObject home)
    {
        var invitee = new Invitee { Email = email };
        invitee.Roles.AddRange(roles.Where(r => r.Object == home).Select(r => r.Relation).Distinct(StringComparer.Ordinal));
        invitee.Grants.AddRange(roles.Where(r => r.Object != home).GroupBy(r => r.Object)
            .Select(onObject => RoleChangeOf(onObject.Key, RoleChangeMode.Grant, onObject.Select(r => r.Relation))));
        return invitee;
    }

    private Command ResourceCommand()
    {
        var resource = new Argument<string>("object") { Description = "The object, type:id" };
        var get = new Command("get", "An object's record: name, description, parent and attributes, such as an environment's type and production mark (GetResource)") { resource };
        get.SetAction((result, cancellation) => CallAsync(result, async channel =>
        {
            var reply = await new ServerClients(channel).Management.GetResourceAsync(
                new GetResourceRequest { Resource = ToObject(result.GetValue(resource)!) }, cancellationToken: cancellation);
            var info = reply.Resource;
            globals.PrinterOf(result, output).Write(reply, text => WriteTable(text, [
                ["object", Describe(info.Resource)],
                ["name", info.Name.Length == 0 ? "-" : info.Name],
                ["description", info.Description.Length == 0 ? "-" : info.Description],
                ["parent", info.Parent is null ? "-" : Describe(info.Parent)],
                .. info.Attributes.Select(a => new[] { a.Relation, Describe(a.Subject) }),
            ]));
            return 0;
        }));

        var parent = new Argument<string>("parent") { Description = "The parent, type:id" };
        var type = new Option<string?>("--type") { Description = "Only objects of this type (e.g. environment)" };
        var list = new Command("list", "The objects directly inside a parent with their names and attributes, such as a project's environments and their types (ListResources)") { parent, type };
        list.SetAction((result, cancellation) => CallAsync(result, async channel =>
        {
            var reply = await new ServerClients(channel).Management.ListResourcesAsync(
                new ListResourcesRequest { Parent = ToObject(result.GetValue(parent)!), ResourceType = result.GetValue(type) ?? string.Empty }, cancellationToken: cancellation);
            globals.PrinterOf(result, output).Write(reply, text =>
            {
                if (reply.Resources.Count == 0)
                {
                    text.WriteLine($"nothing inside {result.GetValue(parent)}");
                    return;
                }

                WriteTable(text, [["OBJECT", "NAME", "ATTRIBUTES"], .. reply.Resources.Select(r => new[]
                {
                    Describe(r.Resource), r.Name.Length == 0 ? "-" : r.Name, List(r.Attributes.Select(a => $"{a.Relation}={Describe(a.Subject)}")),
                })]);
            });
            return 0;
        }));

        return new Command("resource", "Read objects' records: name, parent and attributes (an environment's type, its production mark)") { get, list };
    }
}
