using AuthzGrpc.Storage;
using AuthzGrpc.V1;
using Grpc.Net.Client;

namespace AuthzGrpc.Server.Tests.Infrastructure;

/// <summary>
/// The servers the management cases of a validation file run against (<see cref="ManagementCasesTests.RunAsync"/>):
/// one server, or replicas where one takes the writes and others answer the checks.
/// </summary>
internal interface IManagementCaseDeployment
{
    /// <summary>Checks with the admin key (the management checks that foretell each call).</summary>
    AuthorizationService.AuthorizationServiceClient AdminChecks { get; }

    /// <summary>The invitations of the database (an accept case stores the invitation it accepts).</summary>
    InvitationStore Invitations { get; }

    /// <summary>A channel to the server taking writes, acting as <paramref name="caller"/> with a management key carrying <paramref name="email"/>.</summary>
    Task<GrpcChannel> WriterAsync(Core.Model.SubjectRef caller, string email);

    /// <summary>A channel to a server answering checks, with the same key as <see cref="WriterAsync"/>.</summary>
    Task<GrpcChannel> CheckerAsync(Core.Model.SubjectRef caller, string email);

    /// <summary>The newest committed revision.</summary>
    Task<long> RevisionAsync();

    /// <summary>Undoes what a management call changed, with the admin key.</summary>
    Task RevertAsync(ManagementChanges changes);
}

/// <summary>One server taking both the writes and the checks.</summary>
internal sealed class OneServer(StoreServer server) : IManagementCaseDeployment
{
    public AuthorizationService.AuthorizationServiceClient AdminChecks => server.Authorization;

    public InvitationStore Invitations => server.Store.Invitations;

    public Task<GrpcChannel> WriterAsync(Core.Model.SubjectRef caller, string email) => server.ChannelForAsync(caller, email: email);

    public Task<GrpcChannel> CheckerAsync(Core.Model.SubjectRef caller, string email) => server.ChannelForAsync(caller, email: email);

    public Task<long> RevisionAsync() => server.RevisionAsync();

    public Task RevertAsync(ManagementChanges changes) => server.RevertAsync(changes);
}
