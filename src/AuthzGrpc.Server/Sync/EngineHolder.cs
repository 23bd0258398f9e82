using System.Globalization;
using AuthzGrpc.Core.Engine;
using AuthzGrpc.Core.Schema;
using AuthzGrpc.Server.Hosting;
using Microsoft.Extensions.Options;

namespace AuthzGrpc.Server.Sync;

/// <summary>
/// The engine in force. A schema change builds a new engine and swaps it in whole; every call reads
/// <see cref="Current"/> once and uses that engine throughout, so it never sees half of a change. Readers never lock.
/// Each engine put in force gets the server's evaluation limits: the budget (<see cref="AuthzOptions.EvaluationBudget"/>)
/// and the shutdown token (the host's ApplicationStopping), so no evaluation outlasts a SIGTERM; and the server's clock,
/// which judges expiring relationships.
/// </summary>
public sealed class EngineHolder : ISchemaInForce
{
    private readonly int _evaluationBudget = PermissionEngine.DefaultEvaluationBudget;
    private readonly CancellationToken _shutdown;
    private readonly TimeProvider _clock = TimeProvider.System;
    private PermissionEngine? _current;

    /// <summary>A holder that leaves each engine's limits as they are (the defaults).</summary>
    public EngineHolder()
    {
    }

    /// <summary>A holder that applies the configured budget, the host's shutdown and the server's clock to each engine it puts in force.</summary>
    public EngineHolder(IOptions<AuthzOptions> options, IHostApplicationLifetime lifetime, TimeProvider clock)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(lifetime);
        ArgumentNullException.ThrowIfNull(clock);
        _evaluationBudget = options.Value.EvaluationBudget;
        _shutdown = lifetime.ApplicationStopping;
        _clock = clock;
    }

    /// <summary>The engine in force; throws until the model is loaded.</summary>
    public PermissionEngine Current =>
        Volatile.Read(ref _current) ?? throw new InvalidOperationException("the model is not loaded yet");

    /// <summary>Whether a model is loaded.</summary>
    public bool IsLoaded => Volatile.Read(ref _current) is not null;

    /// <summary>
    /// Puts <paramref name="engine"/> in force, with the server's evaluation limits. The previous engine is not disposed:
    /// calls that started on it may still be reading it, and it holds nothing but memory.
    /// </summary>
    public void Swap(PermissionEngine engine)
    {
        ArgumentNullException.ThrowIfNull(engine);
        engine.EvaluationBudget = _evaluationBudget;
        engine.ShutdownToken = _shutdown;
        engine.Clock = _clock;
        Volatile.Write(ref _current, engine);
    }

    /// <inheritdoc/>
    public CompiledSchema Schema => Current.Schema;

    /// <inheritdoc/>
    public string Describe() => string.Create(CultureInfo.InvariantCulture, $"model loaded at revision {Current.Revision}");
}
