using System.Globalization;
using AuthzGrpc.Core.Engine;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace AuthzGrpc.Server.Hosting;

/// <summary>Healthy once the model is loaded: the server can answer checks (served as <c>grpc.health.v1</c> SERVING).</summary>
internal sealed class ModelHealthCheck(PermissionEngine engine) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(HealthCheckResult.Healthy(
            string.Create(CultureInfo.InvariantCulture, $"model loaded at revision {engine.Revision}")));
}
