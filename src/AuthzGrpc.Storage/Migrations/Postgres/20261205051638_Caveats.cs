using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace AuthzGrpc.Storage.Migrations.Postgres
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
                type: "text",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "caveat_name",
                table: "revision_changes",
                type: "character varying(129)",
                maxLength: 129,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "caveat_context",
                table: "relationships",
                type: "text",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "caveat_name",
                table: "relationships",
                type: "character varying(129)",
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
