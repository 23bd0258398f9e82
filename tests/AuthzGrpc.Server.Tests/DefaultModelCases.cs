namespace AuthzGrpc.Server.Tests;

/// <summary>
/// Checks derived from models/default.relationships (organization northwind: projects storefront and payments)
/// under models/default.zed: (subject, action, resource).
/// </summary>
public static class DefaultModelCases
{
    /// <summary>Questions the default data answers with ALLOWED.</summary>
    public static TheoryData<string, string, string> Allowed => new()
    {
        // Organization owner: project admin of every project, down to the applications.
        { "user:olivia", "project_admin", "project:payments" },
        { "user:olivia", "delete", "application:payments-api" },
        // sara is in sre, nested in platform, which holds the organization's developer role.
        { "user:sara", "deploy", "application:storefront-web" },
        { "user:dan", "ssh", "environment:payments-prod" },
        // Viewer without secrets views, organization viewer also reads secrets.
        { "user:nina", "view", "project:storefront" },
        { "user:victor", "view_secrets", "project:payments" },
        // Project developer: every environment of the project.
        { "user:devon", "ssh", "environment:storefront-prod" },
        // Environment owner: the environment's applications.
        { "user:eric", "deploy", "application:storefront-preview" },
        // Environment-type contributor: environments of that type.
        { "user:carl", "push_code", "environment:storefront-dev" },
        // Application developer: that application.
        { "user:alex", "deploy", "application:payments-api" },
        // Project member in a Documents project group.
        { "user:wendy", "write_documents", "project:storefront" },
        { "user:mona", "read_documents", "project:payments" },
        // Organization flags and roles.
        { "user:bella", "manage_billing", "organization:northwind" },
        { "user:aaron", "manage_users", "organization:northwind" },
        // Creator who is still a project admin.
        { "user:priya", "delete", "project:storefront" },
        // An action may name a relation.
        { "user:priya", "owner", "project:storefront" },
        // A subject set: every member of sre.
        { "group:sre#member", "deploy", "project:storefront" },
    };

    /// <summary>Questions the default data answers with DENIED.</summary>
    public static TheoryData<string, string, string> Denied => new()
    {
        // Developers do not administer.
        { "user:sara", "change_settings", "project:storefront" },
        // R7: no secrets for viewer_no_secrets.
        { "user:nina", "view_secrets", "project:storefront" },
        { "user:victor", "deploy", "project:payments" },
        // Roles never reach beside or above where they are granted.
        { "user:devon", "view", "project:payments" },
        { "user:eric", "view", "environment:storefront-prod" },
        { "user:eric", "view", "project:storefront" },
        { "user:carl", "push_code", "environment:storefront-prod" },
        { "user:alex", "view", "environment:payments-prod" },
        // A project member outside the Documents groups reads but does not write.
        { "user:mona", "write_documents", "project:payments" },
        // A billing flag grants no project access; membership alone grants nothing.
        { "user:bella", "view", "project:storefront" },
        { "user:priya", "view", "project:payments" },
        // Owner-only organization permission.
        { "user:aaron", "manage_account", "organization:northwind" },
        // Subjects and resources nobody stored.
        { "user:mallory", "view", "project:storefront" },
        { "user:olivia", "view", "project:not-stored" },
    };
}
