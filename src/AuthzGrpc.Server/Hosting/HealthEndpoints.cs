using System.Text;
using AuthzGrpc.Server.Sync;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace AuthzGrpc.Server.Hosting;

/// <summary>
/// <c>/healthz</c> and <c>/readyz</c> for load balancers that speak plain HTTP, served on the metrics listener
/// (<see cref="AuthzOptions.MetricsUrl"/>) only: the gRPC endpoint is HTTP/2 only and does not map them (a request
/// there is 404), so a probe can neither reach a gRPC method nor pass by its authentication. With metrics off, there
/// are no probes: gRPC health (and <see cref="HealthProbe"/>) remains.
/// </summary>
internal static class HealthEndpoints
{
    /// <summary>Liveness: 200 whenever the process answers HTTP.</summary>
    public const string LivePath = "/healthz";

    /// <summary>Readiness: 200 while the model is loaded and storage answers, else 503 with the reasons.</summary>
    public const string ReadyPath = "/readyz";

    /// <summary>
    /// Whether a health check decides readiness (and the overall gRPC health status): all but the shared graph's,
    /// because a replica whose Redis is away still answers correctly from the model.
    /// </summary>
    public static bool DecidesReadiness(IEnumerable<string> tags) => !tags.Contains(SharedGraphHealthCheck.Tag);

    /// <summary>Maps both paths on <paramref name="app"/> (the metrics listener's branch).</summary>
    public static void Map(IApplicationBuilder app)
    {
        app.Map(LivePath, live => live.Run(context => WriteAsync(context, StatusCodes.Status200OK, "alive")));
        app.Map(ReadyPath, ready => ready.Run(async context =>
        {
            var (isReady, reason) = await ReadinessAsync(
                context.RequestServices.GetRequiredService<HealthCheckService>(), context.RequestAborted).ConfigureAwait(false);
            await WriteAsync(context, isReady ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable, reason).ConfigureAwait(false);
        }));
    }

    /// <summary>
    /// Runs the checks that decide readiness: ready when each is healthy; otherwise not, with a line per failing check
    /// (its name and description) as the reason.
    /// </summary>
    public static async Task<(bool IsReady, string Reason)> ReadinessAsync(HealthCheckService health, CancellationToken cancellationToken)
    {
        var report = await health.CheckHealthAsync(registration => DecidesReadiness(registration.Tags), cancellationToken).ConfigureAwait(false);
        if (report.Status == HealthStatus.Healthy)
        {
            return (true, "ready");
        }

        var reason = new StringBuilder();
        foreach (var (name, entry) in report.Entries.Where(entry => entry.Value.Status != HealthStatus.Healthy))
        {
            reason.Append(name).Append(": ").AppendLine(entry.Description ?? entry.Status.ToString());
        }

        return (false, reason.ToString().TrimEnd());
    }

    private static Task WriteAsync(HttpContext context, int status, string text)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        // A probe must see the state now, never a cached answer.
        context.Response.Headers.CacheControl = "no-store";
        return context.Response.WriteAsync(text + "\n", context.RequestAborted);
    }
}
