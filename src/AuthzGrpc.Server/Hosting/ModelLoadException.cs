namespace AuthzGrpc.Server.Hosting;

/// <summary>The schema or relationships file cannot be loaded; the message names the file and what to fix.</summary>
public sealed class ModelLoadException : Exception
{
    /// <summary>Creates the error.</summary>
    public ModelLoadException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }
}
