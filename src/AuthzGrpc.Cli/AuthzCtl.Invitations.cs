using AuthzGrpc.V1;

namespace AuthzGrpc.Cli;

// invitation list|accept|resend|revoke (ManagementService); 'invite' creates them.
internal sealed partial class AuthzCtl
{
    private static Argument<string> InvitationIdArgument() => new("id") { Description = "The invitation's id (the INVITATION column of invite and invitation list)" };

    private Command InvitationListCommand()
    {
        var on = new Option<string>("--on") { Description = "The object the invitations are to, type:id", Required = true };
        var all = new Option<bool>("--all") { Description = "Also accepted, revoked and expired ones (by default only pending ones)" };
        var command = new Command("list", "The invitations to an object, newest first (ListInvitations)") { on, all };
        command.SetAction((result, cancellation) => CallAsync(result, async channel =>
        {
            var reply = await new ManagementService.ManagementServiceClient(channel).ListInvitationsAsync(
                new ListInvitationsRequest { Resource = ToObject(result.GetValue(on)!), IncludeClosed = result.GetValue(all) }, cancellationToken: cancellation);
            globals.PrinterOf(result, output).Write(reply, text =>
            {
                if (reply.Invitations.Count == 0)
                {
                    text.WriteLine($"no invitations to {result.GetValue(on)}");
                    return;
                }

                WriteTable(text, [["INVITATION", "EMAIL", "STATE", "ROLES", "EXPIRES"], .. reply.Invitations.Select(i => new[]
                {
                    i.Id, i.Email, Describe(i.State), List(i.Roles.Concat(i.Grants.SelectMany(g => g.Roles.Select(r => $"{Describe(g.Resource)}#{r}")))), Time(i.ExpiresAt),
                })]);
            });
            return ExitCodes.Success;
        }));
        return command;
    }

    private Command InvitationAcceptCommand()
    {
        var token = new Argument<string>("invitation-token") { Description = "The invitation's token, as invite or invitation resend printed it" };
        var behalf = new Option<string?>("--as")
        {
            Description = "Accept for this subject (type:id, or a bare id for user:<id>) instead of the key's own: admin keys only, for a sign-up flow that verified the address",
        };
        var command = new Command("accept", "Accept an invitation: its roles are granted to the key's subject, whose key must carry the invited address (AcceptInvitation)") { token, behalf };
        command.SetAction((result, cancellation) => CallAsync(result, async channel =>
        {
            var request = new AcceptInvitationRequest { Token = result.GetValue(token)! };
            if (result.GetValue(behalf) is { } subject)
            {
                request.OnBehalfOf = ToSubjectOrId(subject, "user");
            }

            var reply = await new ManagementService.ManagementServiceClient(channel).AcceptInvitationAsync(request, cancellationToken: cancellation);
            globals.PrinterOf(result, output).Write(reply, text =>
            {
                text.WriteLine($"accepted invitation {reply.Invitation.Id} to {Describe(reply.Invitation.Resource)} as {reply.Invitation.AcceptedBy}");
                PrintChanges(new Printer(text, OutputFormat.Table), reply.Changes);
            });
            return ExitCodes.Success;
        }));
        return command;
    }

    private Command InvitationResendCommand()
    {
        var id = InvitationIdArgument();
        var expires = new Option<int>("--expires-in-hours") { Description = "Hours from now until it expires (1 to 720; default: the server's, 168)" };
        var command = new Command("resend", "A new token for a pending invitation; the old one stops working (ResendInvitation); prints the token, shown only this once") { id, expires };
        command.SetAction((result, cancellation) => CallAsync(result, async channel =>
        {
            var reply = await new ManagementService.ManagementServiceClient(channel).ResendInvitationAsync(
                new ResendInvitationRequest { Id = result.GetValue(id)!, ExpiresInHours = result.GetValue(expires) }, cancellationToken: cancellation);
            globals.PrinterOf(result, output).Write(reply, text => WriteIssued(text, [reply.Invitation], $"resent at revision {reply.Revision}"));
            return ExitCodes.Success;
        }));
        return command;
    }

    private Command InvitationRevokeCommand()
    {
        var id = InvitationIdArgument();
        var command = new Command("revoke", "Revoke a pending invitation: its token stops working (RevokeInvitation)") { id };
        command.SetAction((result, cancellation) => CallAsync(result, async channel =>
        {
            var reply = await new ManagementService.ManagementServiceClient(channel).RevokeInvitationAsync(
                new RevokeInvitationRequest { Id = result.GetValue(id)! }, cancellationToken: cancellation);
            globals.PrinterOf(result, output).Write(reply, text => text.WriteLine($"revoked invitation {reply.Invitation.Id} ({reply.Invitation.Email}) at revision {reply.Revision}"));
            return ExitCodes.Success;
        }));
        return command;
    }

    private static string Describe(InvitationState state) => state switch
    {
        InvitationState.Pending => "pending",
        InvitationState.Accepted => "accepted",
        InvitationState.Revoked => "revoked",
        InvitationState.Expired => "expired",
        _ => "-",
    };
}
