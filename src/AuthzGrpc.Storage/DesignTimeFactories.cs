using Microsoft.EntityFrameworkCore.Design;

namespace AuthzGrpc.Storage;

/// <summary>Lets <c>dotnet ef migrations add ... --context SqliteAuthzDbContext</c> build the context; never connects.</summary>
internal sealed class SqliteDesignTimeFactory : IDesignTimeDbContextFactory<SqliteAuthzDbContext>
{
    public SqliteAuthzDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<SqliteAuthzDbContext>().UseSqlite("Data Source=design-time.db").Options);
}

/// <summary>Lets <c>dotnet ef migrations add ... --context PostgresAuthzDbContext</c> build the context; never connects.</summary>
internal sealed class PostgresDesignTimeFactory : IDesignTimeDbContextFactory<PostgresAuthzDbContext>
{
    public PostgresAuthzDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<PostgresAuthzDbContext>().UseNpgsql("Host=localhost;Database=authz_design_time").Options);
}
