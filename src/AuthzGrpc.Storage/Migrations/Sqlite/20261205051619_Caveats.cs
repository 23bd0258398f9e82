using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace AuthzGrpc.Storage.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class Caveats : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "caveat_context",
                table: "revision_changes",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "caveat_name",
                table: "revision_changes",
                type: "TEXT",
                maxLength: 129,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "caveat_context",
                table: "relationships",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "caveat_name",
                table: "relationships",
                type: "TEXT",
                maxLength: 129,
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "caveat_context",
                table: "revision_changes");

            migrationBuilder.DropColumn(
                name: "caveat_name",
                table: "revision_changes");

            migrationBuilder.DropColumn(
                name: "caveat_context",
                table: "relationships");

            migrationBuilder.DropColumn(
                name: "caveat_name",
                table: "relationships");
        }
    }
}
