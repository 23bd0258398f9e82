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
}
