namespace AuthzGrpc.Cli;

/// <summary>
/// Arguments that parse but do not fit the server's data (e.g. a short role name that matches no related object):
/// <c>authzctl</c> prints the message as one line and exits 1, before any change is made.
/// </summary>
internal sealed class CommandLineException(string message) : Exception(message);
