using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace AuthzGrpc.Storage.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class Expiration : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<DateTime>(
                name: "expires_at",
                table: "revision_changes",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<DateTime>(
                name: "expires_at",
                table: "relationships",
                type: "TEXT",
                nullable: true);

            migrationBuilder.CreateIndex(
                name: "ix_relationships_expires_at",
                table: "relationships",
                column: "expires_at");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_relationships_expires_at",
                table: "relationships");

            migrationBuilder.DropColumn(
                name: "expires_at",
                table: "revision_changes");

            migrationBuilder.DropColumn(
                name: "expires_at",
                table: "relationships");
        }
    }
}
