using AuthzGrpc.Server.Authentication;
using AuthzGrpc.Storage;
using AuthzGrpc.V1;

namespace AuthzGrpc.Server.Grpc;

/// <summary>
/// Personal API keys (R31): a caller creates check or management keys acting as itself, when the model's
/// <c>keys by</c> rule gives it the permission on the scope (judged by the writer under the write lock), and revokes its
/// own keys.
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
        var kind = ApiKeyGrpcService.ToModel(request.Kind);
        var (key, keyId, hash) = ApiKeyFormat.Generate();

        // The creating key's verified email carries over: the new key acts as the same subject.
        var stored = await writer.CreatePersonalApiKeyAsync(
            ProtoMapping.ToModel(request.Scope), new NewApiKey(keyId, hash, caller, ApiKeyFormat.KindName(kind), request.Description, email), caller, context.CancellationToken).ConfigureAwait(false);
        authenticator.Invalidate(keyId);
        return new CreatePersonalApiKeyResponse { Key = key, ApiKey = ApiKeyGrpcService.ToProto(stored) };
    }

    public override async Task<RevokePersonalApiKeyResponse> RevokePersonalApiKey(RevokePersonalApiKeyRequest request, ServerCallContext context)
    {
        if (!ApiKeyFormat.IsValidKeyId(request.KeyId))
        {
            RequestValidation.Throw(RequestValidation.Violation("key_id", $"is required: the key's id, 1 to {ApiKeyFormat.MaxKeyIdLength} of a-z 0-9"));
        }

        var revoked = await writer.RevokePersonalApiKeyAsync(request.KeyId, context.GetCaller().Subject, context.CancellationToken).ConfigureAwait(false);
        authenticator.Invalidate(request.KeyId);
        return new RevokePersonalApiKeyResponse { ApiKey = ApiKeyGrpcService.ToProto(revoked) };
    }
}
