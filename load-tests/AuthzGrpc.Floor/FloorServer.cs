using System.Globalization;
using AuthzGrpc.Server.Hosting;
using AuthzGrpc.V1;
using Grpc.Core;
using Microsoft.Extensions.Configuration.Memory;

namespace AuthzGrpc.Floor;

/// <summary>
/// A gRPC server on the real server's stack and Kestrel settings (<see cref="GrpcKestrel"/>) whose only work is to
/// answer <c>authz.v1.AuthorizationService/Check</c> with a constant ALLOWED: the same request bytes reach both, so
/// the difference is what the real Check costs. No authentication, interceptors, logging middleware or metrics.
/// <c>GET /allocated</c> answers the bytes the process has allocated on its managed heap, for the load harness to
/// compare with the server's own counter; Check never reaches it.
/// </summary>
public static class FloorServer
{
    /// <summary>The path of the allocated-bytes endpoint (HTTP/2, on the gRPC listener).</summary>
    public const string AllocatedPath = "/allocated";

    /// <summary>Builds the floor from <paramref name="args"/> (command-line configuration, e.g. the endpoint's URL).</summary>
    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource { InitialData = GrpcKestrel.Defaults });
        builder.Services.AddGrpc();
        var app = builder.Build();
        app.MapGrpcService<ConstantAuthorizationService>();
        app.MapGet(AllocatedPath, () => GC.GetTotalAllocatedBytes().ToString(CultureInfo.InvariantCulture));
        return app;
    }

    /// <summary>Every Check is allowed; every other method is UNIMPLEMENTED (the generated base's answer).</summary>
    private sealed class ConstantAuthorizationService : AuthorizationService.AuthorizationServiceBase
    {
        // One instance: the answer is immutable once built, and serializing it allocates nothing of its own.
        private static readonly Task<CheckResponse> Allowed = Task.FromResult(new CheckResponse { Decision = Decision.Allowed, Revision = "1" });

        public override Task<CheckResponse> Check(CheckRequest request, ServerCallContext context) => Allowed;
    }
}
