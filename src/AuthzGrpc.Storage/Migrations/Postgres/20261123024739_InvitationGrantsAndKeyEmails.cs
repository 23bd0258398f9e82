using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace AuthzGrpc.Storage.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class InvitationGrantsAndKeyEmails : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "conditions_json",
                table: "invitations",
                type: "text",
                nullable: false,
                defaultValue: "[]");

            migrationBuilder.AddColumn<string>(
                name: "grants_json",
                table: "invitations",
                type: "text",
                nullable: false,
                defaultValue: "[]");

            migrationBuilder.AddColumn<string>(
                name: "email",
                table: "api_keys",
                type: "character varying(320)",
                maxLength: 320,
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "conditions_json",
                table: "invitations");

            migrationBuilder.DropColumn(
                name: "grants_json",
                table: "invitations");

            migrationBuilder.DropColumn(
                name: "email",
                table: "api_keys");
        }
    }
}
