using AuthzGrpc.Server.Tests.Infrastructure;
using AuthzGrpc.Storage.Tests.Infrastructure;
using AuthzGrpc.Testing;
using AuthzGrpc.V1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using static AuthzGrpc.Server.Tests.Infrastructure.Requests;

namespace AuthzGrpc.Server.Tests;

/// <summary>
/// Caveated relationships through a real server on the README's serving path (the shared graph in Redis, which leaves
/// schemas with caveats to the engine): written with part of their context through RelationshipService, stored, read
/// back, and checked with the rest of it — CONDITIONAL with the missing parameters when the check lacks one, never
/// ALLOWED; Check, BatchCheck and Explain agree; malformed contexts and caveats are INVALID_ARGUMENT and change nothing;
/// after a restart the store gives the same answers.
/// </summary>
public sealed class CaveatTests
{
    private const string Schema = """
        caveat has_valid_ip(user_ip ipaddress, allowed_range string) {
            user_ip.in_cidr(allowed_range)
        }

        definition user {}

        definition document {
            relation viewer: user | user with has_valid_ip
            permission view = viewer
        }
        """;

    private static readonly CheckRequest AmyViews = Check("user:amy", "view", "document:plan");

    [Theory]
    [MemberData(nameof(TestDatabase.ProviderNames), MemberType = typeof(TestDatabase))]
    public async Task CaveatedGrant_IsConditionalWithoutItsContext_AndDecidedWithIt_ThroughEveryCheckRpc_AndAfterARestart(string provider)
    {
        await using var redis = await RedisProcess.StartAsync();
        await using var database = TestDatabase.Create(provider);
        var folder = Directory.CreateTempSubdirectory("authz-caveats-");
        try
        {
            var settings = ModelFiles.Settings(folder, redis, Schema);
            await using (var server = await StoreServer.StartAsync(database, settings))
            {
                var written = await server.Relationships.WriteRelationshipsAsync(Write(
                    Caveated("document:plan#viewer@user:amy", "has_valid_ip", """{"allowed_range": "10.20.0.0/16"}"""),
                    new V1.RelationshipUpdate { Operation = Operation.Touch, Relationship = Relationship("document:plan#viewer@user:bo") }));
                var atToken = new Consistency { AtLeast = written.Revision };

                await AssertDecisionsAsync(server, atToken);

                var read = await ReadAsync(server, atToken);
                Assert.Equal(["document:plan#viewer@user:amy has_valid_ip {\"allowed_range\":\"10.20.0.0/16\"}", "document:plan#viewer@user:bo"], read);

                // Refused writes: a caveat the schema lacks, a parameter the caveat lacks, no name, a context that is not
                // a JSON object the model takes, a caveat on a subject type without one. None changes what is stored.
                await AssertInvalidAsync(server.Relationships.WriteRelationshipsAsync(Write(Caveated("document:plan#viewer@user:cy", "on_tuesday", "{}"))), "does not allow subjects of type 'user with on_tuesday'");
                await AssertInvalidAsync(server.Relationships.WriteRelationshipsAsync(Write(Caveated("document:plan#viewer@user:cy", "has_valid_ip", """{"allowed": "10.0.0.0/8"}"""))), "caveat 'has_valid_ip' has no parameter 'allowed'");
                await AssertInvalidAsync(server.Relationships.WriteRelationshipsAsync(Write(Caveated("document:plan#viewer@user:cy", string.Empty, "{}"))), "updates[0].relationship.optional_caveat.caveat_name");
                await AssertInvalidAsync(server.Relationships.WriteRelationshipsAsync(Write(Caveated("document:plan#viewer@user:cy", "has_valid_ip", $$"""{"allowed_range": "{{new string('x', 5000)}}"}"""))), "updates[0].relationship.optional_caveat.context");
                Assert.Equal(read, await ReadAsync(server, atToken));

                // A check's context that does not fit the parameter's type, or one given to a management check.
                await AssertInvalidAsync(server.Authorization.CheckAsync(WithContext(AmyViews, """{"user_ip": "not an address"}""")), "user_ip");
                var management = WithContext(Check("user:amy", "grant", "document:plan"), """{"user_ip": "10.20.1.2"}""");
                management.Context = new CheckContext { TargetRole = "viewer", TargetSubject = Subject("user:cy") };
                await AssertInvalidAsync(server.Authorization.CheckAsync(management), "caveat_context");
            }

            // Stored with its caveat and context: a new server on the same database answers the same.
            await using (var restarted = await StoreServer.StartAsync(database, settings))
            {
                await AssertDecisionsAsync(restarted, new Consistency { FullyConsistent = true });
            }
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task AMemberList_ShowsACaveatedRole_WithItsCaveat_AndAnUnconditionalOneWithout()
    {
        const string TeamSchema = """
            caveat on_weekday(day string) {
                day in ["monday", "tuesday", "wednesday", "thursday", "friday"]
            }

            definition user {}

            definition team {
                relation owner: user
                relation viewer: user | user with on_weekday
                permission view_members = owner + viewer
                manage owner by owner
                manage viewer by owner
                minimum 1 owner
                members by view_members
            }
            """;
        await using var redis = await RedisProcess.StartAsync();
        await using var database = TestDatabase.Create("sqlite");
        var folder = Directory.CreateTempSubdirectory("authz-caveats-");
        try
        {
            await using var server = await StoreServer.StartAsync(database, ModelFiles.Settings(folder, redis, TeamSchema));
            await server.Relationships.WriteRelationshipsAsync(Write(
                new V1.RelationshipUpdate { Operation = Operation.Touch, Relationship = Relationship("team:core#owner@user:olive") },
                Caveated("team:core#viewer@user:vic", "on_weekday", """{"day": "saturday"}""")));

            var members = (await new ManagementService.ManagementServiceClient(server.Channel).ListMembersAsync(new ListMembersRequest { Resource = Object("team:core") })).Members;

            var olive = Assert.Single(members, m => m.Subject.Object.Id == "olive").Roles.Single();
            var vic = Assert.Single(members, m => m.Subject.Object.Id == "vic").Roles.Single();
            Assert.Equal(("owner", null), (olive.Role, olive.Caveat));
            Assert.Equal(("viewer", "on_weekday", "saturday"), (vic.Role, vic.Caveat.CaveatName, vic.Caveat.Context.Fields["day"].StringValue));
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    private static async Task AssertDecisionsAsync(StoreServer server, Consistency consistency)
    {
        var conditional = await server.Authorization.CheckAsync(WithConsistency(AmyViews, consistency));
        Assert.Equal(Decision.Conditional, conditional.Decision);
        Assert.Equal(["user_ip"], conditional.PartialCaveatInfo.MissingRequiredContext);

        // Under minimize_latency too: the shared graph's layers pass a schema with caveats on to the engine.
        Assert.Equal(Decision.Conditional, (await server.Authorization.CheckAsync(AmyViews)).Decision);
        Assert.Equal(Decision.Allowed, (await server.Authorization.CheckAsync(WithContext(AmyViews, """{"user_ip": "10.20.1.2"}"""))).Decision);
        Assert.Equal(Decision.Denied, (await server.Authorization.CheckAsync(WithContext(AmyViews, """{"user_ip": "10.21.0.1"}"""))).Decision);

        // The relationship's range wins over the one the check gives.
        var widened = await server.Authorization.CheckAsync(WithContext(AmyViews, """{"user_ip": "10.21.0.1", "allowed_range": "0.0.0.0/0"}"""));
        Assert.Equal(Decision.Denied, widened.Decision);
        Assert.Null(widened.PartialCaveatInfo);

        var batch = await server.Authorization.BatchCheckAsync(new BatchCheckRequest
        {
            Items = { AmyViews, WithContext(AmyViews, """{"user_ip": "10.20.9.9"}"""), Check("user:bo", "view", "document:plan") },
            Consistency = consistency,
        });
        Assert.Equal([Decision.Conditional, Decision.Allowed, Decision.Allowed], batch.Results.Select(r => r.Decision));
        Assert.Equal(["user_ip"], batch.Results[0].PartialCaveatInfo.MissingRequiredContext);

        var explained = await server.Authorization.ExplainAsync(new ExplainRequest
        {
            Subject = AmyViews.Subject, Action = AmyViews.Action, Resource = AmyViews.Resource, Consistency = consistency,
        });
        Assert.Equal(Decision.Conditional, explained.Decision);
        Assert.Equal(["user_ip"], explained.PartialCaveatInfo.MissingRequiredContext);
        Assert.False(explained.Root.Result);
        Assert.Contains("conditional", explained.Root.Reason, StringComparison.Ordinal);

        // Lookups leave a conditional answer out unless asked for it, and then mark it; a context that decides it
        // lists it as any other.
        Assert.Empty(await LookupResourcesAsync(server, consistency, null, includeConditional: false));
        Assert.Equal(["plan [user_ip]"], await LookupResourcesAsync(server, consistency, null, includeConditional: true));
        Assert.Equal(["plan"], await LookupResourcesAsync(server, consistency, """{"user_ip": "10.20.1.2"}""", includeConditional: true));
        Assert.Equal(["bo"], await LookupSubjectsAsync(server, consistency, null, includeConditional: false));
        Assert.Equal(["amy [user_ip]", "bo"], await LookupSubjectsAsync(server, consistency, null, includeConditional: true));
        Assert.Equal(["bo"], await LookupSubjectsAsync(server, consistency, """{"user_ip": "10.21.0.1"}""", includeConditional: true));
    }

    private static async Task<List<string>> LookupResourcesAsync(StoreServer server, Consistency consistency, string? context, bool includeConditional)
    {
        using var call = server.Authorization.LookupResources(new LookupResourcesRequest
        {
            Subject = Subject("user:amy"), Action = "view", ResourceType = "document", Consistency = consistency,
            CaveatContext = context is null ? null : JsonParser.Default.Parse<Struct>(context), IncludeConditional = includeConditional,
        });
        var found = new List<string>();
        while (await call.ResponseStream.MoveNext(CancellationToken.None))
        {
            var result = call.ResponseStream.Current;
            found.Add(result.Resource.Id + Missing(result.PartialCaveatInfo));
        }

        return found;
    }

    private static async Task<List<string>> LookupSubjectsAsync(StoreServer server, Consistency consistency, string? context, bool includeConditional)
    {
        using var call = server.Authorization.LookupSubjects(new LookupSubjectsRequest
        {
            Resource = AmyViews.Resource, Action = "view", SubjectType = "user", Consistency = consistency,
            CaveatContext = context is null ? null : JsonParser.Default.Parse<Struct>(context), IncludeConditional = includeConditional,
        });
        var found = new List<string>();
        while (await call.ResponseStream.MoveNext(CancellationToken.None))
        {
            var result = call.ResponseStream.Current;
            found.Add(result.Subject.Object.Id + Missing(result.PartialCaveatInfo));
        }

        return found;
    }

    private static string Missing(PartialCaveatInfo? info) => info is null ? string.Empty : $" [{string.Join(",", info.MissingRequiredContext)}]";

    private static async Task AssertInvalidAsync<T>(AsyncUnaryCall<T> call, string detail)
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains(detail, error.Status.Detail + string.Join(" ", error.Trailers.Select(t => t.IsBinary ? System.Text.Encoding.UTF8.GetString(t.ValueBytes) : t.Value)), StringComparison.Ordinal);
    }

    private static V1.RelationshipUpdate Caveated(string relationship, string caveat, string context)
    {
        var written = Relationship(relationship);
        written.OptionalCaveat = new ContextualizedCaveat { CaveatName = caveat, Context = JsonParser.Default.Parse<Struct>(context) };
        return new V1.RelationshipUpdate { Operation = Operation.Touch, Relationship = written };
    }

    private static CheckRequest WithContext(CheckRequest request, string context)
    {
        var asked = request.Clone();
        asked.CaveatContext = JsonParser.Default.Parse<Struct>(context);
        return asked;
    }

    private static async Task<List<string>> ReadAsync(StoreServer server, Consistency consistency)
    {
        using var call = server.Relationships.ReadRelationships(new ReadRelationshipsRequest
        {
            Filter = new RelationshipFilter { ResourceType = "document" },
            Consistency = consistency,
        });
        var read = new List<string>();
        while (await call.ResponseStream.MoveNext(CancellationToken.None))
        {
            var relationship = call.ResponseStream.Current.Relationship;
            read.Add(Text(relationship) + (relationship.OptionalCaveat is { } caveat
                ? $" {caveat.CaveatName} {(caveat.Context is null ? "{}" : JsonFormatter.Default.Format(caveat.Context).Replace(" ", string.Empty, StringComparison.Ordinal))}"
                : string.Empty));
        }

        read.Sort(StringComparer.Ordinal);
        return read;
    }
}
