using AuthzGrpc.Core.Schema;

namespace AuthzGrpc.Server.Sync;

/// <summary>
/// The schema checks are resolved against: the engine's, in a full replica (<see cref="EngineHolder"/>); in a check
/// replica, which holds no engine, the newest stored schema it has read (<see cref="CheckReplicaSchema"/>).
/// </summary>
internal interface ISchemaInForce
{
    /// <summary>Whether a schema is loaded (the server answers nothing before).</summary>
    bool IsLoaded { get; }

    /// <summary>The schema in force; throws until one is loaded.</summary>
    CompiledSchema Schema { get; }

    /// <summary>What is loaded, for the health check.</summary>
    string Describe();
}
