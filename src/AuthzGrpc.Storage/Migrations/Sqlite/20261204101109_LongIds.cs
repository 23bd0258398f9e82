using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace AuthzGrpc.Storage.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class LongIds : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {

        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {

        }
    }
}
