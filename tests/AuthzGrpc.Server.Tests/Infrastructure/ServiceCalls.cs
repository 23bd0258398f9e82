using AuthzGrpc.V1;
using Grpc.Core;
using Grpc.Net.Client;
using static AuthzGrpc.Server.Tests.Infrastructure.Requests;

namespace AuthzGrpc.Server.Tests.Infrastructure;

/// <summary>
/// One well-formed call of each protected method, by name, so that authentication tests can run the same question
/// against every service. Every request is valid, so only authentication and the key's kind decide; the writes are
/// harmless where they are allowed (a touch of a stored relationship, a delete matching nothing, the schema in force).
/// </summary>
public static class ServiceCalls
{
    /// <summary>Every protected method, <c>Service/Method</c>.</summary>
    public static readonly IReadOnlyList<string> All =
    [
        "AuthorizationService/Check",
        "AuthorizationService/BatchCheck",
        "AuthorizationService/Explain",
        "AuthorizationService/LookupResources",
        "AuthorizationService/LookupSubjects",
        "SchemaService/ReadSchema",
        "SchemaService/WriteSchema",
        "RelationshipService/ReadRelationships",
        "RelationshipService/WriteRelationships",
        "RelationshipService/DeleteRelationships",
        "ApiKeyService/CreateApiKey",
        "ApiKeyService/ListApiKeys",
        "ApiKeyService/RevokeApiKey",
        "ManagementService/ListMembers",
    ];

    /// <summary><see cref="All"/> as theory data.</summary>
    public static TheoryData<string> AllMethods => [.. All];

    /// <summary>The methods of <paramref name="service"/> (e.g. <c>SchemaService</c>).</summary>
    public static IEnumerable<string> Of(string service) => All.Where(m => m.StartsWith(service + "/", StringComparison.Ordinal));

    /// <summary>
    /// Calls <paramref name="method"/> on <paramref name="channel"/> with <paramref name="headers"/>, reading a streaming
    /// reply to its end; throws the call's <see cref="RpcException"/>.
    /// </summary>
    public static async Task CallAsync(GrpcChannel channel, string method, Metadata? headers = null, string? schema = null)
    {
        var authorization = new AuthorizationService.AuthorizationServiceClient(channel);
        var schemas = new SchemaService.SchemaServiceClient(channel);
        var relationships = new RelationshipService.RelationshipServiceClient(channel);
        var keys = new ApiKeyService.ApiKeyServiceClient(channel);
        var management = new ManagementService.ManagementServiceClient(channel);
        switch (method)
        {
            case "AuthorizationService/Check":
                await authorization.CheckAsync(Check("user:olivia", "deploy", "application:storefront-web"), headers);
                break;
            case "AuthorizationService/BatchCheck":
                await authorization.BatchCheckAsync(new BatchCheckRequest { Items = { Check("user:olivia", "deploy", "application:storefront-web") } }, headers);
                break;
            case "AuthorizationService/Explain":
                await authorization.ExplainAsync(Explain("user:olivia", "deploy", "application:storefront-web"), headers);
                break;
            case "AuthorizationService/LookupResources":
            {
                using var call = authorization.LookupResources(
                    new LookupResourcesRequest { Subject = Subject("user:olivia"), Action = "view", ResourceType = "project" }, headers);
                await call.ResponseStream.ReadAllAsync().ToListAsync();
                break;
            }

            case "AuthorizationService/LookupSubjects":
            {
                using var call = authorization.LookupSubjects(
                    new LookupSubjectsRequest { Resource = Object("project:storefront"), Action = "view", SubjectType = "user" }, headers);
                await call.ResponseStream.ReadAllAsync().ToListAsync();
                break;
            }

            case "SchemaService/ReadSchema":
                await schemas.ReadSchemaAsync(new ReadSchemaRequest(), headers);
                break;
            case "SchemaService/WriteSchema":
                await schemas.WriteSchemaAsync(new WriteSchemaRequest { Schema = schema ?? "definition user {}" }, headers);
                break;
            case "RelationshipService/ReadRelationships":
            {
                using var call = relationships.ReadRelationships(new ReadRelationshipsRequest { Filter = Filter("project") }, headers);
                await call.ResponseStream.ReadAllAsync().ToListAsync();
                break;
            }

            case "RelationshipService/WriteRelationships":
                await relationships.WriteRelationshipsAsync(Write(Update(Operation.Touch, "organization:northwind#owner@user:olivia")), headers);
                break;
            case "RelationshipService/DeleteRelationships":
                await relationships.DeleteRelationshipsAsync(
                    new DeleteRelationshipsRequest { Filter = Filter("project", "no-such-project") }, headers);
                break;
            case "ApiKeyService/CreateApiKey":
                await keys.CreateApiKeyAsync(new CreateApiKeyRequest { Subject = Subject("user:olivia"), Kind = KeyKind.Check }, headers);
                break;
            case "ApiKeyService/ListApiKeys":
                await keys.ListApiKeysAsync(new ListApiKeysRequest(), headers);
                break;
            case "ApiKeyService/RevokeApiKey":
                await keys.RevokeApiKeyAsync(new RevokeApiKeyRequest { KeyId = "nosuchkey" }, headers);
                break;
            case "ManagementService/ListMembers":
                await management.ListMembersAsync(new ListMembersRequest { Resource = Object("organization:northwind") }, headers);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(method), method, "not a known call");
        }
    }

    /// <summary>The status <paramref name="method"/> answers: OK, or the code of the <see cref="RpcException"/> it failed with.</summary>
    public static async Task<Status> StatusOfAsync(GrpcChannel channel, string method, Metadata? headers = null, string? schema = null)
    {
        try
        {
            await CallAsync(channel, method, headers, schema);
            return Status.DefaultSuccess;
        }
        catch (RpcException e)
        {
            return e.Status;
        }
    }
}
