using System.Globalization;
using AuthzGrpc.LoadData;
using AuthzGrpc.Core.Model;

namespace AuthzGrpc.LoadTest;

/// <summary>
/// Writes the data set in the server's seed format (<c>Authz:RelationshipsFile</c>: one <c>resource#relation@subject</c>
/// a line), so a server started on a new database with it holds exactly what the harness's checks expect.
/// </summary>
internal static class SeedFile
{
    /// <summary>Writes the data set of <paramref name="organizations"/> organizations to <paramref name="path"/>; returns how many lines.</summary>
    public static long Write(int organizations, string path)
    {
        var data = new PlatformDataSet(organizations);
        var written = 0L;
        using var writer = new StreamWriter(path, append: false);
        writer.WriteLine($"// The platform data set of load-tests/AuthzGrpc.LoadData: {organizations.ToString(CultureInfo.InvariantCulture)} organizations, seed {PlatformDataSet.Seed.ToString(CultureInfo.InvariantCulture)}, for models/default.zed.");

        // The generator repeats a few random picks; the engine would store them once, so the file holds them once.
        var seen = new HashSet<Relationship>();
        foreach (var relationship in data.Generate())
        {
            if (seen.Add(relationship))
            {
                writer.WriteLine(relationship.ToString());
                written++;
            }
        }

        return written;
    }
}
