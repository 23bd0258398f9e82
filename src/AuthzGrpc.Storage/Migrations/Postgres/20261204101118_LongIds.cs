using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace AuthzGrpc.Storage.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class LongIds : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AlterColumn<string>(
                name: "actor",
                table: "schema_versions",
                type: "character varying(1154)",
                maxLength: 1154,
                nullable: false,
                oldClrType: typeof(string),
                oldType: "character varying(386)",
                oldMaxLength: 386);

            migrationBuilder.AlterColumn<string>(
                name: "actor",
                table: "revisions",
                type: "character varying(1154)",
                maxLength: 1154,
                nullable: false,
                oldClrType: typeof(string),
                oldType: "character varying(386)",
                oldMaxLength: 386);

            migrationBuilder.AlterColumn<string>(
                name: "subject_id",
                table: "revision_changes",
                type: "character varying(1024)",
                maxLength: 1024,
                nullable: false,
                oldClrType: typeof(string),
                oldType: "character varying(256)",
                oldMaxLength: 256);

            migrationBuilder.AlterColumn<string>(
                name: "resource_id",
                table: "revision_changes",
                type: "character varying(1024)",
                maxLength: 1024,
                nullable: false,
                oldClrType: typeof(string),
                oldType: "character varying(256)",
                oldMaxLength: 256);

            migrationBuilder.AlterColumn<string>(
                name: "resource_id",
                table: "resources",
                type: "character varying(1024)",
                maxLength: 1024,
                nullable: false,
                oldClrType: typeof(string),
                oldType: "character varying(256)",
                oldMaxLength: 256);

            migrationBuilder.AlterColumn<string>(
                name: "subject_id",
                table: "relationships",
                type: "character varying(1024)",
                maxLength: 1024,
                nullable: false,
                oldClrType: typeof(string),
                oldType: "character varying(256)",
                oldMaxLength: 256);

            migrationBuilder.AlterColumn<string>(
                name: "resource_id",
                table: "relationships",
                type: "character varying(1024)",
                maxLength: 1024,
                nullable: false,
                oldClrType: typeof(string),
                oldType: "character varying(256)",
                oldMaxLength: 256);

            migrationBuilder.AlterColumn<string>(
                name: "subject_id",
                table: "principals",
                type: "character varying(1024)",
                maxLength: 1024,
                nullable: false,
                oldClrType: typeof(string),
                oldType: "character varying(256)",
                oldMaxLength: 256);

            migrationBuilder.AlterColumn<string>(
                name: "resource_id",
                table: "invitations",
                type: "character varying(1024)",
                maxLength: 1024,
                nullable: false,
                oldClrType: typeof(string),
                oldType: "character varying(256)",
                oldMaxLength: 256);

            migrationBuilder.AlterColumn<string>(
                name: "invited_by",
                table: "invitations",
                type: "character varying(1154)",
                maxLength: 1154,
                nullable: false,
                oldClrType: typeof(string),
                oldType: "character varying(386)",
                oldMaxLength: 386);

            migrationBuilder.AlterColumn<string>(
                name: "accepted_by",
                table: "invitations",
                type: "character varying(1154)",
                maxLength: 1154,
                nullable: true,
                oldClrType: typeof(string),
                oldType: "character varying(386)",
                oldMaxLength: 386,
                oldNullable: true);

            migrationBuilder.AlterColumn<string>(
                name: "actor",
                table: "audit_events",
                type: "character varying(1154)",
                maxLength: 1154,
                nullable: false,
                oldClrType: typeof(string),
                oldType: "character varying(386)",
                oldMaxLength: 386);

            migrationBuilder.AlterColumn<string>(
                name: "subject_id",
                table: "api_keys",
                type: "character varying(1024)",
                maxLength: 1024,
                nullable: false,
                oldClrType: typeof(string),
                oldType: "character varying(256)",
                oldMaxLength: 256);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AlterColumn<string>(
                name: "actor",
                table: "schema_versions",
                type: "character varying(386)",
                maxLength: 386,
                nullable: false,
                oldClrType: typeof(string),
                oldType: "character varying(1154)",
                oldMaxLength: 1154);

            migrationBuilder.AlterColumn<string>(
                name: "actor",
                table: "revisions",
                type: "character varying(386)",
                maxLength: 386,
                nullable: false,
                oldClrType: typeof(string),
                oldType: "character varying(1154)",
                oldMaxLength: 1154);

            migrationBuilder.AlterColumn<string>(
                name: "subject_id",
                table: "revision_changes",
                type: "character varying(256)",
                maxLength: 256,
                nullable: false,
                oldClrType: typeof(string),
                oldType: "character varying(1024)",
                oldMaxLength: 1024);

            migrationBuilder.AlterColumn<string>(
                name: "resource_id",
                table: "revision_changes",
                type: "character varying(256)",
                maxLength: 256,
                nullable: false,
                oldClrType: typeof(string),
                oldType: "character varying(1024)",
                oldMaxLength: 1024);

            migrationBuilder.AlterColumn<string>(
                name: "resource_id",
                table: "resources",
                type: "character varying(256)",
                maxLength: 256,
                nullable: false,
                oldClrType: typeof(string),
                oldType: "character varying(1024)",
                oldMaxLength: 1024);

            migrationBuilder.AlterColumn<string>(
                name: "subject_id",
                table: "relationships",
                type: "character varying(256)",
                maxLength: 256,
                nullable: false,
                oldClrType: typeof(string),
                oldType: "character varying(1024)",
                oldMaxLength: 1024);

            migrationBuilder.AlterColumn<string>(
                name: "resource_id",
                table: "relationships",
                type: "character varying(256)",
                maxLength: 256,
                nullable: false,
                oldClrType: typeof(string),
                oldType: "character varying(1024)",
                oldMaxLength: 1024);

            migrationBuilder.AlterColumn<string>(
                name: "subject_id",
                table: "principals",
                type: "character varying(256)",
                maxLength: 256,
                nullable: false,
                oldClrType: typeof(string),
                oldType: "character varying(1024)",
                oldMaxLength: 1024);

            migrationBuilder.AlterColumn<string>(
                name: "resource_id",
                table: "invitations",
                type: "character varying(256)",
                maxLength: 256,
                nullable: false,
                oldClrType: typeof(string),
                oldType: "character varying(1024)",
                oldMaxLength: 1024);

            migrationBuilder.AlterColumn<string>(
                name: "invited_by",
                table: "invitations",
                type: "character varying(386)",
                maxLength: 386,
                nullable: false,
                oldClrType: typeof(string),
                oldType: "character varying(1154)",
                oldMaxLength: 1154);

            migrationBuilder.AlterColumn<string>(
                name: "accepted_by",
                table: "invitations",
                type: "character varying(386)",
                maxLength: 386,
                nullable: true,
                oldClrType: typeof(string),
                oldType: "character varying(1154)",
                oldMaxLength: 1154,
                oldNullable: true);

            migrationBuilder.AlterColumn<string>(
                name: "actor",
                table: "audit_events",
                type: "character varying(386)",
                maxLength: 386,
                nullable: false,
                oldClrType: typeof(string),
                oldType: "character varying(1154)",
                oldMaxLength: 1154);

            migrationBuilder.AlterColumn<string>(
                name: "subject_id",
                table: "api_keys",
                type: "character varying(256)",
                maxLength: 256,
                nullable: false,
                oldClrType: typeof(string),
                oldType: "character varying(1024)",
                oldMaxLength: 1024);
        }
    }
}
