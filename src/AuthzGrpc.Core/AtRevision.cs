namespace AuthzGrpc.Core;

/// <summary>An answer and the revision it reflects at least (read before evaluating).</summary>
/// <param name="Value">The answer.</param>
/// <param name="Revision">The revision of the state it was answered from.</param>
public readonly record struct AtRevision<T>(T Value, long Revision);
