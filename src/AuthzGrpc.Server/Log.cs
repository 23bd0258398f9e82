using Grpc.Core;

namespace AuthzGrpc.Server;

/// <summary>The server's log messages, source-generated; event ids are stable.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1, EventName = "SchemaLoaded", Level = LogLevel.Information,
        Message = "Loaded schema {SchemaFile} with {DefinitionCount} definitions")]
    public static partial void SchemaLoaded(ILogger logger, string schemaFile, int definitionCount);

    [LoggerMessage(EventId = 2, EventName = "RelationshipsLoaded", Level = LogLevel.Information,
        Message = "Loaded {RelationshipCount} relationships from {RelationshipsFile} at revision {Revision}")]
    public static partial void RelationshipsLoaded(ILogger logger, int relationshipCount, string relationshipsFile, long revision);

    [LoggerMessage(EventId = 3, EventName = "NoRelationshipsFile", Level = LogLevel.Information,
        Message = "No relationships file configured (Authz:RelationshipsFile); starting with no relationships")]
    public static partial void NoRelationshipsFile(ILogger logger);

    [LoggerMessage(EventId = 4, EventName = "Listening", Level = LogLevel.Information,
        Message = "AuthzGrpc listening on {Address}")]
    public static partial void Listening(ILogger logger, string address);

    [LoggerMessage(EventId = 5, EventName = "ModelLoadFailed", Level = LogLevel.Critical,
        Message = "Cannot load the model: {Reason}")]
    public static partial void ModelLoadFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 6, EventName = "UnexpectedError", Level = LogLevel.Error,
        Message = "Unexpected error in {Method}; answered INTERNAL")]
    public static partial void UnexpectedError(ILogger logger, string method, Exception exception);

    [LoggerMessage(EventId = 7, EventName = "RequestRejected", Level = LogLevel.Debug,
        Message = "{Method} answered {StatusCode}: {Detail}")]
    public static partial void RequestRejected(ILogger logger, string method, StatusCode statusCode, string detail);

    [LoggerMessage(EventId = 8, EventName = "CallCancelled", Level = LogLevel.Debug,
        Message = "{Method} was cancelled by the caller")]
    public static partial void CallCancelled(ILogger logger, string method);

    [LoggerMessage(EventId = 9, EventName = "AddressInUse", Level = LogLevel.Critical,
        Message = "{Detail} Is another server running? Choose another address with --Kestrel:Endpoints:Grpc:Url=http://127.0.0.1:PORT")]
    public static partial void AddressInUse(ILogger logger, string detail);

    [LoggerMessage(EventId = 10, EventName = "StorageOpened", Level = LogLevel.Information,
        Message = "Opened the {Provider} storage at {Location} (migrations applied)")]
    public static partial void StorageOpened(ILogger logger, AuthzGrpc.Storage.StorageProvider provider, string location);

    [LoggerMessage(EventId = 11, EventName = "StorageSeeded", Level = LogLevel.Information,
        Message = "New database: seeded the schema and {RelationshipCount} relationships from the files at revision {Revision}")]
    public static partial void StorageSeeded(ILogger logger, long revision, int relationshipCount);

    [LoggerMessage(EventId = 12, EventName = "ModelLoadedFromStorage", Level = LogLevel.Information,
        Message = "Loaded the model from storage: {DefinitionCount} definitions, {RelationshipCount} relationships at revision {Revision} (Authz:SchemaFile and Authz:RelationshipsFile only seed a new database)")]
    public static partial void ModelLoadedFromStorage(ILogger logger, int definitionCount, int relationshipCount, long revision);

    [LoggerMessage(EventId = 13, EventName = "SchemaWritten", Level = LogLevel.Information,
        Message = "Schema written at revision {Revision} with {DefinitionCount} definitions; {DeletedCount} orphaned relationships deleted")]
    public static partial void SchemaWritten(ILogger logger, long revision, int definitionCount, int deletedCount);

    [LoggerMessage(EventId = 14, EventName = "EngineRebuilt", Level = LogLevel.Error,
        Message = "The engine could not apply revision {Revision} committed to storage; rebuilt it from storage")]
    public static partial void EngineRebuilt(ILogger logger, long revision, Exception exception);

    [LoggerMessage(EventId = 15, EventName = "StorageUnavailable", Level = LogLevel.Warning,
        Message = "{Method}: the database failed; answered UNAVAILABLE")]
    public static partial void StorageUnavailable(ILogger logger, string method, Exception exception);

    [LoggerMessage(EventId = 16, EventName = "WriteConflict", Level = LogLevel.Warning,
        Message = "{Method}: the write conflicted with a concurrent change and was rolled back; answered ABORTED")]
    public static partial void WriteConflict(ILogger logger, string method, Exception exception);
}
