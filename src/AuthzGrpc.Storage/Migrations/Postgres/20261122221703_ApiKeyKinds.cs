using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace AuthzGrpc.Storage.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class ApiKeyKinds : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "expires_at",
                table: "api_keys");

            migrationBuilder.RenameColumn(
                name: "scope",
                table: "api_keys",
                newName: "kind");

            migrationBuilder.RenameColumn(
                name: "name",
                table: "api_keys",
                newName: "description");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.RenameColumn(
                name: "kind",
                table: "api_keys",
                newName: "scope");

            migrationBuilder.RenameColumn(
                name: "description",
                table: "api_keys",
                newName: "name");

            migrationBuilder.AddColumn<DateTime>(
                name: "expires_at",
                table: "api_keys",
                type: "timestamp with time zone",
                nullable: true);
        }
    }
}
