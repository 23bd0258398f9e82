using AuthzGrpc.Server.Sync;
using AuthzGrpc.Storage;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace AuthzGrpc.Server.Hosting;

/// <summary>Healthy once the model (a check replica: the schema) is loaded: the server can answer checks (served as <c>grpc.health.v1</c> SERVING).</summary>
internal sealed class ModelHealthCheck(ISchemaInForce schemas) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(schemas.IsLoaded ? HealthCheckResult.Healthy(schemas.Describe()) : HealthCheckResult.Unhealthy("the model is not loaded"));
}

/// <summary>Healthy while the source of truth answers; checks keep being answered from memory when it does not, writes fail.</summary>
internal sealed class StorageHealthCheck(AuthzDatabase database) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            return await database.PingAsync(cancellationToken).ConfigureAwait(false)
                ? HealthCheckResult.Healthy($"{database.Provider} storage answers")
                : HealthCheckResult.Unhealthy($"{database.Provider} storage at {database.Location} does not answer");
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return HealthCheckResult.Unhealthy($"{database.Provider} storage at {database.Location} failed: {e.Message}");
        }
    }
}
