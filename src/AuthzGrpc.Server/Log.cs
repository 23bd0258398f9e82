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
        Message = "{Detail} Is another server running? Choose another address with --Kestrel:Endpoints:Grpc:Url=http://127.0.0.1:PORT (gRPC) or --Authz:MetricsUrl=http://127.0.0.1:PORT (metrics; empty turns them off)")]
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

    [LoggerMessage(EventId = 17, EventName = "EngineCaughtUp", Level = LogLevel.Debug,
        Message = "Caught up with revisions other replicas committed: from revision {FromRevision} to {ToRevision}")]
    public static partial void EngineCaughtUp(ILogger logger, long fromRevision, long toRevision);

    [LoggerMessage(EventId = 18, EventName = "EngineSyncFailed", Level = LogLevel.Warning,
        Message = "Could not read the store's change log to catch up; retrying at the next poll")]
    public static partial void EngineSyncFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 19, EventName = "ServingMetrics", Level = LogLevel.Information,
        Message = "Serving metrics for Prometheus at {Url} (HTTP/1.1; Authz:MetricsUrl)")]
    public static partial void ServingMetrics(ILogger logger, Uri url);

    [LoggerMessage(EventId = 21, EventName = "ServingConsole", Level = LogLevel.Information,
        Message = "Serving the web console at {Url} (HTTP/1.1, gRPC-Web; Authz:ConsoleUrl)")]
    public static partial void ServingConsole(ILogger logger, Uri url);

    [LoggerMessage(EventId = 20, EventName = "BackupRestored", Level = LogLevel.Information,
        Message = "{Actor} restored a backup taken at revision {SourceRevision} of database {SourceDatabase}, at revision {Revision}: {Counts}")]
    public static partial void BackupRestored(ILogger logger, string actor, string sourceRevision, string sourceDatabase, long revision, string counts);

    // Authentication: event ids 100-119.
    [LoggerMessage(EventId = 100, EventName = "BootstrapKeyGenerated", Level = LogLevel.Warning,
        Message = "No admin API key was stored: generated the bootstrap admin key {KeyId} for {Subject} and wrote it to {Path} (readable by this user only). Send it as 'authorization: Bearer <the file's content>'; set Authz:Auth:BootstrapKey to choose the key instead")]
    public static partial void BootstrapKeyGenerated(ILogger logger, string path, string keyId, AuthzGrpc.Core.Model.SubjectRef subject);

    [LoggerMessage(EventId = 101, EventName = "BootstrapKeyConfigured", Level = LogLevel.Information,
        Message = "The bootstrap admin key {KeyId} from Authz:Auth:BootstrapKey acts as {Subject} (stored: {Changed})")]
    public static partial void BootstrapKeyConfigured(ILogger logger, string keyId, AuthzGrpc.Core.Model.SubjectRef subject, bool changed);

    [LoggerMessage(EventId = 102, EventName = "AdminKeyExists", Level = LogLevel.Debug,
        Message = "An admin API key is stored; no bootstrap key generated")]
    public static partial void AdminKeyExists(ILogger logger);

    [LoggerMessage(EventId = 103, EventName = "AuthenticationSetupFailed", Level = LogLevel.Critical,
        Message = "Cannot set up authentication: {Reason}")]
    public static partial void AuthenticationSetupFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 104, EventName = "CallUnauthenticated", Level = LogLevel.Debug,
        Message = "{Method} answered UNAUTHENTICATED: {Reason}")]
    public static partial void CallUnauthenticated(ILogger logger, string method, string reason);

    [LoggerMessage(EventId = 105, EventName = "CallForbidden", Level = LogLevel.Debug,
        Message = "{Method} answered PERMISSION_DENIED: API key {KeyId} is a {Kind} key")]
    public static partial void CallForbidden(ILogger logger, string method, string keyId, AuthzGrpc.Server.Authentication.ApiKeyKind kind);

    [LoggerMessage(EventId = 106, EventName = "ApiKeyCreated", Level = LogLevel.Information,
        Message = "{Actor} created the {Kind} API key {KeyId} for {Subject}")]
    public static partial void ApiKeyCreated(ILogger logger, string actor, AuthzGrpc.Server.Authentication.ApiKeyKind kind, string keyId, AuthzGrpc.Core.Model.SubjectRef subject);

    [LoggerMessage(EventId = 107, EventName = "ApiKeyRevoked", Level = LogLevel.Information,
        Message = "{Actor} revoked the API key {KeyId}")]
    public static partial void ApiKeyRevoked(ILogger logger, string actor, string keyId);

    [LoggerMessage(EventId = 40, EventName = "EventStreamOpened", Level = LogLevel.Information,
        Message = "{Actor} opened a change-event stream (WatchEvents) after event {AfterId}")]
    public static partial void EventStreamOpened(ILogger logger, string actor, long afterId);

    [LoggerMessage(EventId = 41, EventName = "EventStreamClosed", Level = LogLevel.Information,
        Message = "The change-event stream of {Actor} ended at event {Position} after sending {EventCount} events")]
    public static partial void EventStreamClosed(ILogger logger, string actor, long position, long eventCount);

    [LoggerMessage(EventId = 23, EventName = "ExpiredRelationshipsDeleted", Level = LogLevel.Information,
        Message = "Deleted {Count} expired relationships at revision {Revision}")]
    public static partial void ExpiredRelationshipsDeleted(ILogger logger, int count, long revision);

    [LoggerMessage(EventId = 22, EventName = "ExpirationCleanupFailed", Level = LogLevel.Warning,
        Message = "Deleting expired relationships failed; retrying on the next round")]
    public static partial void ExpirationCleanupFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 24, EventName = "SchemaWarning", Level = LogLevel.Warning,
        Message = "The schema in force ({Source}): {Warning}")]
    public static partial void SchemaWarning(ILogger logger, string source, Core.Schema.SchemaWarning warning);

    [LoggerMessage(EventId = 25, EventName = "WriteJudgedAgain", Level = LogLevel.Debug,
        Message = "A write judged at revision {JudgedAt} met revision {Committed}, committed by another replica meanwhile; judged again (attempt {Attempt})")]
    public static partial void WriteJudgedAgain(ILogger logger, long judgedAt, long committed, int attempt);

    [LoggerMessage(EventId = 30, EventName = "SharedGraphMaintenanceFailed", Level = LogLevel.Warning,
        Message = "Keeping the shared graph in step failed; retrying on the next round")]
    public static partial void SharedGraphMaintenanceFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 50, EventName = "BadRequestRefused", Level = LogLevel.Debug,
        Message = "A call to {Method} was refused before reaching the service: {Problem} ({Skipped} more refusals since the last entry were not logged)")]
    public static partial void BadRequestRefused(ILogger logger, string method, string problem, long skipped);

    // Callers test IsEnabled(LogLevel.Debug) first: the arguments are formatted for this line alone, and checks are the
    // hot path, Debug off by default.
    [LoggerMessage(EventId = 60, EventName = "CheckDecided", Level = LogLevel.Debug, SkipEnabledCheck = true,
        Message = "Check {Decision}: subject {Subject} action {Action} resource {Resource} key {KeyId} revision {Revision} source {Source}")]
    public static partial void CheckDecided(
        ILogger logger, V1.Decision decision, string subject, string action, string resource, string? keyId, string revision, string source);

    [LoggerMessage(EventId = 120, EventName = "CheckReplicaStarted", Level = LogLevel.Information,
        Message = "Check replica (Authz:Role=check): {DefinitionCount} definitions of the schema written at revision {SchemaRevision}; no relationship is loaded, checks are answered from the shared graph or read from the database")]
    public static partial void CheckReplicaStarted(ILogger logger, int definitionCount, long schemaRevision);

    [LoggerMessage(EventId = 121, EventName = "CheckReplicaSchemaChanged", Level = LogLevel.Information,
        Message = "Check replica: now following the schema written at revision {SchemaRevision} ({DefinitionCount} definitions)")]
    public static partial void CheckReplicaSchemaChanged(ILogger logger, long schemaRevision, int definitionCount);

    [LoggerMessage(EventId = 122, EventName = "ForwardingToFullReplica", Level = LogLevel.Information,
        Message = "Check replica: management checks, checks it cannot answer (caveats), Explain, the lookups, Watch and WhoAmI are forwarded to the full replica at {Address}")]
    public static partial void ForwardingToFullReplica(ILogger logger, Uri address);

    [LoggerMessage(EventId = 123, EventName = "FullReplicaUnavailable", Level = LogLevel.Warning,
        Message = "Check replica: {Method} forwarded to the full replica at {Address} failed ({Code}: {Detail}); answered UNAVAILABLE ({Skipped} more failures since the last entry were not logged)")]
    public static partial void FullReplicaUnavailable(ILogger logger, string method, Uri? address, StatusCode code, string detail, long skipped, Exception? exception);
}
