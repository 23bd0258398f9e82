using AuthzGrpc.Core.Model;
using AuthzGrpc.Server.Authentication;
using AuthzGrpc.Server.Reads;
using AuthzGrpc.Server.Writes;
using AuthzGrpc.Storage;
using AuthzGrpc.V1;
using Google.Protobuf.WellKnownTypes;
using FieldViolation = Google.Rpc.BadRequest.Types.FieldViolation;

namespace AuthzGrpc.Server.Grpc;

/// <summary>
/// authz.v1.ApiKeyService (admin keys only, enforced by <see cref="AuthenticationInterceptor"/>): create, list and
/// revoke keys. A created key is returned once and only its hash is stored; revoking drops the key from this server's
/// cache at once. Create and revoke record audit events in the same transaction.
/// </summary>
internal sealed class ApiKeyGrpcService(ModelWriter writer, ModelReader reader, ApiKeyAuthenticator authenticator, ILogger<ApiKeyGrpcService> logger)
    : ApiKeyService.ApiKeyServiceBase
{
    public override async Task<CreateApiKeyResponse> CreateApiKey(CreateApiKeyRequest request, ServerCallContext context)
    {
        var emailViolation = RequestValidation.OptionalEmail(request.Email, "email", out var email);
        if ((Owner(request.Subject, "subject") ?? Kind(request.Kind) ?? Description(request.Description) ?? emailViolation) is { } violation)
        {
            RequestValidation.Throw(violation);
        }

        var subject = new Core.Model.SubjectRef(request.Subject.Object.Type, request.Subject.Object.Id);
        var kind = ToModel(request.Kind);
        var actor = CallActor.Of(context);
        var (key, keyId, hash) = ApiKeyFormat.Generate();
        var stored = await writer.CreateApiKeyAsync(
            new NewApiKey(keyId, hash, subject, ApiKeyFormat.KindName(kind), request.Description, email), actor, context.CancellationToken).ConfigureAwait(false);
        authenticator.Invalidate(keyId);
        Log.ApiKeyCreated(logger, actor, kind, keyId, subject);
        return new CreateApiKeyResponse { Key = key, ApiKey = ToProto(stored) };
    }

    public override async Task<ListApiKeysResponse> ListApiKeys(ListApiKeysRequest request, ServerCallContext context)
    {
        Core.Model.SubjectRef? subject = null;
        if (request.Subject is not null)
        {
            if (Owner(request.Subject, "subject") is { } violation)
            {
                RequestValidation.Throw(violation);
            }

            subject = new Core.Model.SubjectRef(request.Subject.Object.Type, request.Subject.Object.Id);
        }

        var keys = await reader.ListApiKeysAsync(subject, context.CancellationToken).ConfigureAwait(false);
        var response = new ListApiKeysResponse();
        response.ApiKeys.AddRange(keys.Select(ToProto));
        return response;
    }

    public override async Task<RevokeApiKeyResponse> RevokeApiKey(RevokeApiKeyRequest request, ServerCallContext context)
    {
        if (!ApiKeyFormat.IsValidKeyId(request.KeyId))
        {
            RequestValidation.Throw(RequestValidation.Violation("key_id",
                $"is required: the key's id, 1 to {ApiKeyFormat.MaxKeyIdLength} of a-z 0-9 (the part between azk_ and the secret, not the whole key)"));
        }

        var actor = CallActor.Of(context);
        var revoked = await writer.RevokeApiKeyAsync(request.KeyId, actor, context.CancellationToken).ConfigureAwait(false)
            ?? throw new AuthzException(AuthzErrorKind.NotFound, $"key_id: there is no API key '{request.KeyId}'");
        authenticator.Invalidate(request.KeyId);
        Log.ApiKeyRevoked(logger, actor, request.KeyId);
        return new RevokeApiKeyResponse { ApiKey = ToProto(revoked) };
    }

    internal static ApiKeyKind ToModel(KeyKind kind) => kind switch
    {
        KeyKind.Check => ApiKeyKind.Check,
        KeyKind.Management => ApiKeyKind.Management,
        _ => ApiKeyKind.Admin,
    };

    internal static ApiKey ToProto(StoredApiKey key)
    {
        var result = new ApiKey
        {
            KeyId = key.Id,
            Subject = ProtoMapping.ToProto(key.Subject),
            Kind = key.Kind switch
            {
                ApiKeyKinds.Check => KeyKind.Check,
                ApiKeyKinds.Management => KeyKind.Management,
                ApiKeyKinds.Admin => KeyKind.Admin,
                _ => KeyKind.Unspecified,
            },
            Description = key.Description,
            CreatedAt = Timestamp.FromDateTime(key.CreatedAt),
            Email = key.Email ?? string.Empty,
        };
        if (key.RevokedAt is { } revoked)
        {
            result.RevokedAt = Timestamp.FromDateTime(revoked);
        }

        return result;
    }

    // The subject of a key: one object, type:id, never a set or a wildcard.
    private static FieldViolation? Owner(V1.SubjectRef? subject, string field)
    {
        if (subject?.Object is null)
        {
            return RequestValidation.Violation(field, "is required: the subject the key acts as, e.g. user:alice");
        }

        if (!Identifiers.IsValidType(subject.Object.Type))
        {
            return RequestValidation.Violation($"{field}.object.type", "is not a type name: lowercase letters, digits and '_', e.g. user");
        }

        if (subject.Object.Id == Identifiers.Wildcard)
        {
            return RequestValidation.Violation($"{field}.object.id", "a key acts as one subject: name a concrete one, not a wildcard");
        }

        if (!Identifiers.IsValidId(subject.Object.Id))
        {
            return RequestValidation.Violation($"{field}.object.id", "use 1 to 256 of A-Z a-z 0-9 _ - . / | = +");
        }

        return subject.Relation.Length == 0
            ? null
            : RequestValidation.Violation($"{field}.relation", "must be empty: a key acts as one object, not a subject set");
    }

    private static FieldViolation? Kind(KeyKind kind) => kind is KeyKind.Check or KeyKind.Management or KeyKind.Admin
        ? null
        : RequestValidation.Violation("kind", "is required: KEY_KIND_CHECK, KEY_KIND_MANAGEMENT or KEY_KIND_ADMIN");

    internal static FieldViolation? Description(string description) => description.Length <= ApiKeyStore.DescriptionLength
        ? null
        : RequestValidation.Violation("description", $"is {description.Length} characters long; the limit is {ApiKeyStore.DescriptionLength}");
}
