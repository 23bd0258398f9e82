namespace AuthzGrpc.Testing;

/// <summary>The repository the tests were built from, for tests that run its scripts or read its files.</summary>
public static class Repository
{
    /// <summary>The folder holding <c>AuthzGrpc.sln</c> above the test output.</summary>
    public static string Root { get; } = FindRoot();

    private static string FindRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "AuthzGrpc.sln")))
            {
                return folder.FullName;
            }
        }

        throw new InvalidOperationException("the tests run outside the repository: no AuthzGrpc.sln above " + AppContext.BaseDirectory);
    }
}
