using AuthzGrpc.Core;
using AuthzGrpc.Server.Authentication;
using AuthzGrpc.Storage;
using AuthzGrpc.V1;
using Grpc.Core;

namespace AuthzGrpc.Server.Services;

/// <summary>
/// Personal API keys (R31): a caller creates check or management keys acting as itself, when the model's
/// <c>keys by</c> rule gives it the permission on the scope, and revokes its own keys.
/// </summary>
internal sealed partial class ManagementGrpcService
{
    public override async Task<CreatePersonalApiKeyResponse> CreatePersonalApiKey(CreatePersonalApiKeyRequest request, ServerCallContext context)
    {
        RequestValidation.Require(
            RequestValidation.Target(request.Scope, "scope"),
            request.Kind is KeyKind.Check or KeyKind.Management
                ? null
                : RequestValidation.Violation("kind", "a personal key is KEY_KIND_CHECK or KEY_KIND_MANAGEMENT (admin keys are created by admins)"),
            ApiKeyGrpcService.Description(request.Description));
        var (caller, email) = (context.GetCaller().Subject, context.GetCaller().Email);
        new Core.Management.ManagementPlanner(holder.Current).RequireKeyAuthority(caller, ProtoMapping.ToModel(request.Scope));

        var kind = ApiKeyGrpcService.ToModel(request.Kind);
        var (key, keyId, hash) = ApiKeyFormat.Generate();
        var stored = await store.CreateApiKeyAsync(
            // The creating key's verified email carries over: the new key acts as the same subject.
            new NewApiKey(keyId, hash, caller, ApiKeyFormat.KindName(kind), request.Description, email), caller.ToString(), CancellationToken.None).ConfigureAwait(false);
        authenticator.Invalidate(keyId);
        return new CreatePersonalApiKeyResponse { Key = key, ApiKey = ApiKeyGrpcService.ToProto(stored) };
    }

    public override async Task<RevokePersonalApiKeyResponse> RevokePersonalApiKey(RevokePersonalApiKeyRequest request, ServerCallContext context)
    {
        if (!ApiKeyFormat.IsValidKeyId(request.KeyId))
        {
            RequestValidation.Throw(RequestValidation.Violation("key_id", $"is required: the key's id, 1 to {ApiKeyFormat.MaxKeyIdLength} of a-z 0-9"));
        }

        var (caller, email) = (context.GetCaller().Subject, context.GetCaller().Email);
        if (await store.FindApiKeyAsync(request.KeyId, context.CancellationToken).ConfigureAwait(false) is not { } found || found.Subject != caller)
        {
            throw new AuthzException(AuthzErrorKind.NotFound, $"key_id: {caller} has no API key '{request.KeyId}'");
        }

        var revoked = await store.RevokeApiKeyAsync(request.KeyId, caller.ToString(), CancellationToken.None).ConfigureAwait(false)
            ?? throw new AuthzException(AuthzErrorKind.NotFound, $"key_id: {caller} has no API key '{request.KeyId}'");
        authenticator.Invalidate(request.KeyId);
        return new RevokePersonalApiKeyResponse { ApiKey = ApiKeyGrpcService.ToProto(revoked) };
    }
}
