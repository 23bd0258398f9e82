using System.Diagnostics;

namespace AuthzGrpc.Server.Hosting;

/// <summary>
/// The server's traces: one <see cref="ActivitySource"/> with an activity per Check, BatchCheck and committed write.
/// <see cref="ActivitySource.StartActivity(string, ActivityKind)"/> returns null while nothing listens (no exporter
/// configured), so the checks' hot path tests <see cref="ActivitySource.HasListeners"/> and costs nothing more.
/// Exported over OTLP when <c>Authz:Otlp:Endpoint</c> is set (<see cref="AuthzServerExtensions.AddAuthzTracing"/>).
/// </summary>
internal static class AuthzTracing
{
    /// <summary>The name of the source, as a listener or an OpenTelemetry <c>AddSource</c> selects it.</summary>
    public const string SourceName = "AuthzGrpc";

    /// <summary>The decision of a Check: <c>Allowed</c> or <c>Denied</c>.</summary>
    public const string DecisionTag = "authz.decision";

    /// <summary>The revision an answer or a write is at.</summary>
    public const string RevisionTag = "authz.revision";

    /// <summary>What answered: engine, shared-graph (near cache, Redis or the engine behind them), or management.</summary>
    public const string SourceTag = "authz.source";

    /// <summary>The permission a Check asks about.</summary>
    public const string ActionTag = "authz.action";

    /// <summary>The type of the resource a Check asks about.</summary>
    public const string ResourceTypeTag = "authz.resource_type";

    /// <summary>How many items a BatchCheck holds, and how many were allowed.</summary>
    public const string ItemsTag = "authz.items";

    /// <inheritdoc cref="ItemsTag"/>
    public const string AllowedTag = "authz.allowed";

    /// <summary>The write operation (the writer's method, e.g. <c>WriteRelationships</c>, <c>Manage</c>).</summary>
    public const string OperationTag = "authz.operation";

    /// <summary>The one source; static, as ActivitySource instances are meant to be.</summary>
    public static readonly ActivitySource Source = new(SourceName);
}
