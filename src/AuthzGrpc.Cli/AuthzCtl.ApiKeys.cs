using AuthzGrpc.V1;

namespace AuthzGrpc.Cli;

// apikey create|list|revoke (ApiKeyService, admin keys only).
internal sealed partial class AuthzCtl
{
    private Command ApiKeyCreateCommand()
    {
        var subject = new Argument<string>("subject") { Description = "The subject the key acts as: type:id, or a bare id for user:<id>" };
        var kind = new Option<string>("--kind")
        {
            Description = "check (AuthorizationService only), management (also ManagementService, as the subject) or admin (every service)",
            Required = true,
        };
        kind.AcceptOnlyFromAmong("check", "management", "admin");
        var description = new Option<string?>("--description") { Description = "What the key is for" };
        var email = new Option<string?>("--email") { Description = "The subject's verified email address: the key may then accept invitations sent to it" };
        var command = new Command("create", "Create a key (CreateApiKey) and print it: it is shown only this once") { subject, kind, description, email };
        command.SetAction((result, cancellation) => CallAsync(result, async channel =>
        {
            var request = new CreateApiKeyRequest
            {
                Subject = ToSubjectOrId(result.GetValue(subject)!, "user"),
                Kind = result.GetValue(kind) switch { "check" => KeyKind.Check, "management" => KeyKind.Management, _ => KeyKind.Admin },
                Description = result.GetValue(description) ?? string.Empty,
                Email = result.GetValue(email) ?? string.Empty,
            };
            var reply = await new ApiKeyService.ApiKeyServiceClient(channel).CreateApiKeyAsync(request, cancellationToken: cancellation);
            globals.PrinterOf(result, output).Write(reply, text =>
            {
                WriteKeys(text, [reply.ApiKey]);
                text.WriteLine($"key: {reply.Key}");
            });
            return ExitCodes.Success;
        }));
        return command;
    }

    private Command ApiKeyListCommand()
    {
        var subject = new Option<string?>("--subject") { Description = "Only this subject's keys (type:id, or a bare id for user:<id>)" };
        var command = new Command("list", "The keys, oldest first, revoked ones included; never their secrets (ListApiKeys)") { subject };
        command.SetAction((result, cancellation) => CallAsync(result, async channel =>
        {
            var request = new ListApiKeysRequest { Subject = result.GetValue(subject) is { } s ? ToSubjectOrId(s, "user") : null };
            var reply = await new ApiKeyService.ApiKeyServiceClient(channel).ListApiKeysAsync(request, cancellationToken: cancellation);
            globals.PrinterOf(result, output).Write(reply, text => WriteKeys(text, reply.ApiKeys));
            return ExitCodes.Success;
        }));
        return command;
    }

    private Command ApiKeyRevokeCommand()
    {
        var id = new Argument<string>("key-id") { Description = "The key's id (the ID column of apikey list: the part between azk_ and the secret)" };
        var command = new Command("revoke", "Revoke a key: it stops working at once (RevokeApiKey)") { id };
        command.SetAction((result, cancellation) => CallAsync(result, async channel =>
        {
            var reply = await new ApiKeyService.ApiKeyServiceClient(channel).RevokeApiKeyAsync(new RevokeApiKeyRequest { KeyId = result.GetValue(id)! }, cancellationToken: cancellation);
            globals.PrinterOf(result, output).Write(reply, text => text.WriteLine($"revoked key {reply.ApiKey.KeyId} of {Describe(reply.ApiKey.Subject)} at {Time(reply.ApiKey.RevokedAt)}"));
            return ExitCodes.Success;
        }));
        return command;
    }

    private static void WriteKeys(TextWriter output, IEnumerable<ApiKey> keys) =>
        WriteTableOrNone(output, "API keys", [["ID", "SUBJECT", "KIND", "CREATED", "REVOKED", "DESCRIPTION"], .. keys.Select(k => new[]
        {
            k.KeyId, Describe(k.Subject), k.Kind.ToString().ToLowerInvariant(), Time(k.CreatedAt), Time(k.RevokedAt), k.Description.Length == 0 ? "-" : k.Description,
        })]);
}
