namespace AuthzGrpc.Cache;

/// <summary>Where the shared permission graph lives and how long the serving path waits for it.</summary>
public sealed class RedisGraphOptions
{
    /// <summary>A StackExchange.Redis configuration string; empty serves every check from the local model.</summary>
    public string Configuration { get; set; } = string.Empty;
}
