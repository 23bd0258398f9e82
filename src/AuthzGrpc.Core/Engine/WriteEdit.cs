namespace AuthzGrpc.Core.Engine;

/// <summary>
/// The owner token of one write batch. The graph's pieces are immutable once published; while a batch builds the next
/// version, the pieces it copied carry its token and may be changed in place (so a batch touching one set a thousand
/// times copies it once). A token is never reused, so nothing a published version holds can be changed again.
/// </summary>
internal sealed class WriteEdit;
