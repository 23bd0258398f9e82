using System.Globalization;
using AuthzGrpc.Testing;
using AuthzGrpc.V1;
using OpenQA.Selenium;

namespace AuthzGrpc.Console.Tests;

/// <summary>
/// Issue 15's acceptance path, walked in order in one browser session on the real server, each step checked against
/// the same call over gRPC and pictured (<c>docs/console/walk-*.png</c>, shown in the README): olivia, the
/// organization's owner, signs in with an admin key of hers; a seed model in the playground shows a deliberate error at
/// its line; a Check and its Explain tree; she invites walt with roles on two objects; walt, signed in with his own key
/// carrying the invited address, accepts; olivia sees him among the members with where each role comes from, reads the
/// cascade report of his removal and removes him; and the Audit page shows each of those changes, found by object and
/// by actor. (Signing in, validating a model and checking change nothing, so they leave no audit event.)
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed class AcceptanceWalkTests(ConsoleServer console)
{
    private const string Seed = "004-team-hierarchy";
    private static readonly ObjectRef Storefront = new() { Type = "project", Id = "storefront" };
    private static readonly SubjectRef Walt = new() { Object = new ObjectRef { Type = "user", Id = "walt" } };

    [Fact]
    public async Task TheAcceptancePath_InOrder_EachStepAsTheServiceAnswers_AndEachChangeInTheAuditPage()
    {
        var olivia = new ManagementService.ManagementServiceClient(TestKeys.Channel(console.Server.Address, console.ManagementKey));
        // The audit log as an admin key reads it (olivia's management key may not: the project's `audit by` rule).
        var admin = new ManagementService.ManagementServiceClient(console.Server.Channel);
        // The newest event before the walk: the walk's own events are those after it.
        var before = (await admin.ListAuditEventsAsync(new ListAuditEventsRequest { Resource = Storefront, PageSize = 1 })).Events.Select(e => e.Id).DefaultIfEmpty(0).Single();

        // 1. Sign in, through the form.
        Assert.StartsWith("Acting as user:olivia (admin key ", console.SignIn(console.OliviaAdminKey), StringComparison.Ordinal);
        console.Screenshot("walk-1-signed-in");

        // 2. A seed model in the playground, valid; a deliberate error typed into it is shown at its line.
        Go("playground");
        console.Wait(driver => driver.FindElements(By.CssSelector("#pg-model option")).Count > 1);
        console.Browser.FindElement(By.XPath($"//select[@id='pg-model']/option[text()='{Seed}']")).Click();
        console.Browser.FindElement(By.Id("pg-load")).Click();
        console.Wait(driver => driver.FindElement(By.Id("pg-status")).Text.StartsWith("Valid", StringComparison.Ordinal));
        var schema = console.Browser.FindElement(By.Id("pg-schema"));
        schema.SendKeys(Keys.Control + Keys.End);
        schema.SendKeys("\ndefinition broken {\n    relation owner: nosuchtype\n}\n");
        var problem = console.Wait(driver => driver.FindElements(By.CssSelector("#pg-problems .problem")) is { Count: 1 } problems ? problems[0].Text : null)!;
        console.Screenshot("walk-2-playground-error", showing: "#pg-problems");
        var text = (string)((IJavaScriptExecutor)console.Browser).ExecuteScript("return document.getElementById('pg-schema').value")!;
        var errorLine = text.Split('\n').ToList().FindIndex(line => line.Contains("nosuchtype", StringComparison.Ordinal)) + 1;
        Assert.StartsWith($"schema {errorLine}:", problem, StringComparison.Ordinal);
        Assert.Contains("nosuchtype", problem, StringComparison.Ordinal);

        // 3. A Check, then its Explain tree, as the service answers them.
        var check = await console.Server.Authorization.CheckAsync(new CheckRequest { Subject = Subject("user:olivia"), Action = "view", Resource = Storefront });
        Go("decisions");
        console.Ask("user:olivia", "view", "project:storefront");
        console.Browser.FindElement(By.Id("check")).Click();
        Assert.Equal($"ALLOWED at revision {check.Revision}", console.Shown("decision"));
        console.Screenshot("walk-3-check", showing: "#decision");
        console.Browser.FindElement(By.Id("explain")).Click();
        console.Wait(driver => driver.FindElements(By.CssSelector("#explain-tree li.deciding")).Count >= 2);
        console.Screenshot("walk-4-explain", showing: "#explain-tree");
        Assert.Equal(Decision.Allowed, check.Decision);

        // 4. Invite walt with roles on the project and on its production environment type.
        Go("members");
        ShowMembers("project:storefront", contained: false);
        console.Fill(("invite-emails", "walt@example.com"), ("invite-roles", "developer"),
            ("invite-other-object", "environment_type:storefront_production"), ("invite-other-roles", "viewer"));
        console.Browser.FindElement(By.Id("invite")).Click();
        var token = console.Wait(driver => driver.FindElements(By.CssSelector("#invite-issued .token")) is { Count: 1 } tokens ? tokens[0].Text : null)!;
        console.Wait(driver => driver.FindElements(By.CssSelector("#invitations-rows tr[data-email='walt@example.com']")).Count == 1);
        console.Screenshot("walk-5-invited", showing: "#invitations-table");
        var pending = (await olivia.ListInvitationsAsync(new ListInvitationsRequest { Resource = Storefront })).Invitations.Single(i => i.Email == "walt@example.com");
        Assert.Equal(["developer"], pending.Roles);
        Assert.Equal("environment_type:storefront_production viewer", $"{pending.Grants.Single().Resource.Type}:{pending.Grants.Single().Resource.Id} {pending.Grants.Single().Roles.Single()}");

        // 5. Walt signs in with his own key, which carries the invited address, and accepts.
        var waltKey = await console.KeyAsync("walt", KeyKind.Management, "walt@example.com");
        Assert.StartsWith("Acting as user:walt ", console.SignIn(waltKey), StringComparison.Ordinal);
        Go("members");
        console.Fill(("accept-token", token));
        console.Browser.FindElement(By.Id("accept")).Click();
        var accepted = console.Shown("members-result");
        console.Screenshot("walk-6-accepted", showing: "#members-result");
        Assert.StartsWith("Accepted at revision ", accepted, StringComparison.Ordinal);
        Assert.Contains("project:storefront#developer", accepted, StringComparison.Ordinal);
        Assert.Contains("environment_type:storefront_production#viewer", accepted, StringComparison.Ordinal);

        // 6. Olivia again: walt among the project's members (with those holding roles only inside it), each role with
        // where it comes from, as ListMembers answers.
        console.SignIn(console.OliviaAdminKey);
        Go("members");
        ShowMembers("project:storefront", contained: true);
        var listed = (await olivia.ListMembersAsync(new ListMembersRequest { Resource = Storefront, IncludeContained = true })).Members.Single(m => m.Subject.Object.Id == "walt");
        var shownRoles = console.Browser.FindElements(By.CssSelector("#members-rows tr[data-subject='user:walt'] .roles li")).Select(li => li.Text).ToList();
        console.Screenshot("walk-7-members", showing: "#members-rows tr[data-subject='user:walt']");
        Assert.Equal(listed.Roles.Select(role => $"{role.Label} — {Source(role)}"), shownRoles);
        Assert.Contains(listed.Roles, role => role.Role == "developer" && !role.Inherited && !role.Contained);
        Assert.Contains(listed.Roles, role => role.Role == "viewer" && role.Contained && role.GrantedOn.Id == "storefront_production");

        // 7. The cascade report of his removal, as RemoveMember's dry run answers; then the removal, exactly that.
        var dryRun = await olivia.RemoveMemberAsync(new RemoveMemberRequest { Resource = Storefront, Subject = Walt, DryRun = true });
        console.Browser.FindElement(By.CssSelector("#members-rows tr[data-subject='user:walt'] button.remove")).Click();
        var report = console.Wait(driver => driver.FindElement(By.Id("members-confirm")).Displayed
            ? driver.FindElements(By.CssSelector("#members-cascade li")).Select(li => li.Text).ToList()
            : null)!;
        console.Screenshot("walk-8-cascade-report", showing: "#members-confirm");
        Assert.Equal(dryRun.Changes.Removed.Select(Text), report);
        Assert.Contains("environment_type:storefront_production#viewer@user:walt", report);
        console.Browser.FindElement(By.Id("members-remove-yes")).Click();
        var removed = console.Shown("members-result");
        Assert.StartsWith("Removed user:walt from project:storefront at revision ", removed, StringComparison.Ordinal);
        Assert.Equal(report.Order(StringComparer.Ordinal), removed[(removed.IndexOf(": ", StringComparison.Ordinal) + 2)..].Split(", ").Order(StringComparer.Ordinal));
        Assert.DoesNotContain((await olivia.ListMembersAsync(new ListMembersRequest { Resource = Storefront, IncludeContained = true })).Members, m => m.Subject.Object.Id == "walt");

        // 8. Each change in the Audit page: olivia's invitation and removal on the project, walt's acceptance.
        Go("audit");
        var oliviaEvents = AuditRows("project:storefront", "user:olivia", before);
        console.Screenshot("walk-9-audit", showing: "#audit-table");
        var waltEvents = AuditRows("project:storefront", "user:walt", before);
        Assert.Equal(["RemoveMember", "InviteMember"], oliviaEvents.Select(e => e.Operation));
        Assert.Equal(["AcceptInvitation"], waltEvents.Select(e => e.Operation));
        foreach (var (actor, shown) in new[] { ("user:olivia", oliviaEvents), ("user:walt", waltEvents) })
        {
            var overGrpc = (await admin.ListAuditEventsAsync(new ListAuditEventsRequest { Resource = Storefront, Actor = actor, PageSize = 50 })).Events.Where(e => e.Id > before);
            Assert.Equal(overGrpc.Select(e => (e.Id.ToString(CultureInfo.InvariantCulture), e.Actor, e.Operation, e.Target, e.Revision)), shown);
        }

        Assert.Empty(console.BrowserErrors());
    }

    // The Audit page's rows for an object and an actor newer than `after`, as shown: id, actor, operation, target, revision.
    private List<(string Id, string Actor, string Operation, string Target, string Revision)> AuditRows(string resource, string actor, long after)
    {
        console.Fill(("audit-object", resource), ("audit-actor", actor));
        console.Browser.FindElement(By.Id("audit-search")).Click();
        return console.Wait(driver =>
        {
            var rows = driver.FindElements(By.CssSelector("#audit-rows tr"));
            var status = driver.FindElement(By.Id("audit-status")).Text;
            // The answer to this search: its rows' actor is the one asked (a previous search's rows are replaced).
            if (status.Length == 0 || rows.Count == 0 || rows[0].FindElements(By.TagName("td"))[2].Text != actor)
            {
                return null;
            }

            return rows.Select(row => row.FindElements(By.TagName("td")).Select(td => td.Text).ToList())
                .Where(cells => long.Parse(cells[0], CultureInfo.InvariantCulture) > after)
                .Select(cells => (cells[0], cells[2], cells[3], cells[4], cells[5]))
                .ToList();
        })!;
    }

    private void ShowMembers(string resource, bool contained)
    {
        console.Fill(("members-object", resource));
        if (console.Browser.FindElement(By.Id("members-contained")).Selected != contained)
        {
            console.Browser.FindElement(By.Id("members-contained")).Click();
        }

        console.Browser.FindElement(By.Id("members-show")).Click();
        console.Wait(driver => driver.FindElement(By.Id("members-status")).Text.StartsWith($"{driver.FindElements(By.CssSelector("#members-rows tr")).Count} member", StringComparison.Ordinal)
            && driver.FindElement(By.Id("members-status")).Text.Contains($" of {resource} ", StringComparison.Ordinal));
    }

    // Through the navigation, as a person goes from page to page.
    private void Go(string page)
    {
        console.Browser.FindElement(By.CssSelector($"#nav a[href='#{page}']")).Click();
        console.Wait(driver => driver.FindElement(By.Id("page-" + page)).Displayed);
    }

    // Where a member's role comes from, in the Members page's words.
    private static string Source(MemberRole role)
    {
        var where = role.Contained ? $"inside, on {role.GrantedOn.Type}:{role.GrantedOn.Id}"
            : role.Inherited ? $"inherited from {role.GrantedOn.Type}:{role.GrantedOn.Id}"
            : "on this object";
        return role.Via is null ? where : $"{where}, via {Text(role.Via)}";
    }

    private static string Text(SubjectRef subject) =>
        $"{subject.Object.Type}:{subject.Object.Id}" + (subject.Relation.Length > 0 ? "#" + subject.Relation : string.Empty);

    private static string Text(Relationship relationship) =>
        $"{relationship.Resource.Type}:{relationship.Resource.Id}#{relationship.Relation}@{Text(relationship.Subject)}";

    private static SubjectRef Subject(string text)
    {
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        return new SubjectRef { Object = new ObjectRef { Type = text[..colon], Id = text[(colon + 1)..] } };
    }
}
