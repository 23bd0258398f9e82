using AuthzGrpc.Testing;
using AuthzGrpc.V1;
using Grpc.Core;
using OpenQA.Selenium;

namespace AuthzGrpc.Console.Tests;

/// <summary>
/// Invitations on the Members page in a real headless Chromium: invite with roles on two objects, accept as the
/// invitee (their own key, carrying the address), see them among the members with both roles; resend and revoke a
/// pending invitation. Each step is checked against the service over gRPC.
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed class InvitationPageTests(ConsoleServer console)
{
    private static readonly ObjectRef Storefront = new() { Type = "project", Id = "storefront" };

    [Fact]
    public async Task Invite_WithRolesOnTwoObjects_AcceptAsTheInvitee_ThenTheyAreMembersWithBoth()
    {
        var ziaKey = await KeyAsync("zia", "zia@example.com");
        OpenMembers(console.ManagementKey, "project:storefront");

        Fill("invite-emails", "zia@example.com");
        Fill("invite-roles", "developer");
        Fill("invite-other-object", "environment_type:storefront_production");
        Fill("invite-other-roles", "viewer");
        console.Browser.FindElement(By.Id("invite")).Click();
        var token = console.Wait(driver => driver.FindElements(By.CssSelector("#invite-issued .token")) is { Count: 1 } tokens ? tokens[0].Text : null)!;
        console.Wait(driver => driver.FindElements(By.CssSelector("#invitations-rows tr[data-email='zia@example.com']")).Count == 1);
        console.Screenshot("members-invited");
        var pending = (await Olivia().ListInvitationsAsync(new ListInvitationsRequest { Resource = Storefront })).Invitations.Single(i => i.Email == "zia@example.com");
        Assert.Equal(["developer"], pending.Roles);
        Assert.Equal("environment_type:storefront_production viewer", $"{pending.Grants.Single().Resource.Type}:{pending.Grants.Single().Resource.Id} {pending.Grants.Single().Roles.Single()}");

        // The invitee, signed in with their own key, accepts with the token.
        console.OpenSignedIn(ziaKey, "members");
        console.Browser.FindElement(By.Id("accept-token")).SendKeys(token);
        console.Browser.FindElement(By.Id("accept")).Click();
        var accepted = console.Shown("members-result");
        Assert.StartsWith("Accepted at revision ", accepted, StringComparison.Ordinal);
        Assert.Contains("project:storefront#developer", accepted, StringComparison.Ordinal);
        Assert.Contains("environment_type:storefront_production#viewer", accepted, StringComparison.Ordinal);

        // Back as the inviter: zia is a member of both, with the roles that came from the invitation.
        OpenMembers(console.ManagementKey, "project:storefront");
        var roles = console.Wait(driver => driver.FindElements(By.CssSelector("#members-rows tr[data-subject='user:zia'] .roles li")) is { Count: > 0 } items
            ? items.Select(li => li.Text).ToList() : null)!;
        Assert.Contains("developer — on this object", roles);
        var overGrpc = await Olivia().ListMembersAsync(new ListMembersRequest { Resource = new ObjectRef { Type = "environment_type", Id = "storefront_production" } });
        Assert.Contains(overGrpc.Members, m => m.Subject.Object.Id == "zia" && m.Roles.Any(r => r.Role == "viewer" && !r.Inherited));
        Assert.Empty(console.BrowserErrors());
    }

    [Fact]
    public async Task APendingInvitation_CanBeResent_ThenRevoked()
    {
        OpenMembers(console.ManagementKey, "project:storefront");
        Fill("invite-emails", "yan@example.com");
        Fill("invite-roles", "viewer");
        console.Browser.FindElement(By.Id("invite")).Click();
        var first = console.Wait(driver => driver.FindElements(By.CssSelector("#invite-issued .token")) is { Count: 1 } tokens ? tokens[0].Text : null)!;
        var row = console.Wait(driver => driver.FindElements(By.CssSelector("#invitations-rows tr[data-email='yan@example.com']")).SingleOrDefault())!;

        row.FindElement(By.XPath(".//button[text()='Resend']")).Click();
        var second = console.Wait(driver => driver.FindElements(By.CssSelector("#invite-issued .token")) is { Count: 1 } tokens && tokens[0].Text != first ? tokens[0].Text : null);
        console.Browser.FindElement(By.CssSelector("#invitations-rows tr[data-email='yan@example.com']")).FindElement(By.XPath(".//button[text()='Revoke']")).Click();
        console.Wait(driver => driver.FindElements(By.CssSelector("#invitations-rows tr[data-email='yan@example.com']")).Count == 0);

        Assert.NotEqual(first, second);
        Assert.StartsWith("Revoked the invitation of yan@example.com at revision ", console.Shown("members-result"), StringComparison.Ordinal);
        var all = await Olivia().ListInvitationsAsync(new ListInvitationsRequest { Resource = Storefront, IncludeClosed = true });
        Assert.Equal(InvitationState.Revoked, all.Invitations.Single(i => i.Email == "yan@example.com").State);
    }

    [Fact]
    public async Task AnInvitation_ByAKeyWithoutTheRight_ShowsPermissionDenied_AsInviteMembersAnswersOverGrpc()
    {
        // Victor only views the organization: he sees a project's members but may not invite to it.
        var victorKey = await console.KeyAsync("victor", KeyKind.Management);
        var overGrpc = await Assert.ThrowsAsync<RpcException>(async () =>
            await new ManagementService.ManagementServiceClient(TestKeys.Channel(console.Server.Address, victorKey)).InviteMembersAsync(new InviteMembersRequest
            {
                Resource = Storefront, Emails = { "xavi@example.com" }, Roles = { "developer" },
            }));
        OpenMembers(victorKey, "project:storefront");
        Fill("invite-emails", "xavi@example.com");
        Fill("invite-roles", "developer");

        console.Browser.FindElement(By.Id("invite")).Click();

        Assert.Equal(StatusCode.PermissionDenied, overGrpc.StatusCode);
        Assert.Equal($"PERMISSION_DENIED: {overGrpc.Status.Detail}", console.Wait(driver =>
            driver.FindElement(By.Id("members-error")).Text is { } text && text.Contains(overGrpc.Status.Detail, StringComparison.Ordinal) ? text : null));
        Assert.Empty(console.Browser.FindElements(By.CssSelector("#invite-issued .token")));
        Assert.DoesNotContain((await Olivia().ListInvitationsAsync(new ListInvitationsRequest { Resource = Storefront })).Invitations, i => i.Email == "xavi@example.com");
    }

    // The inviter's client: olivia's management key (she owns the organization).
    private ManagementService.ManagementServiceClient Olivia() => new(TestKeys.Channel(console.Server.Address, console.ManagementKey));

    // A management key of user:<id> carrying a verified email, as a sign-up flow would issue it.
    private async Task<string> KeyAsync(string id, string email) =>
        (await new ApiKeyService.ApiKeyServiceClient(console.Server.Channel).CreateApiKeyAsync(new CreateApiKeyRequest
        {
            Subject = new SubjectRef { Object = new ObjectRef { Type = "user", Id = id } },
            Kind = KeyKind.Management,
            Email = email,
        })).Key;

    private void Fill(string id, string value) => console.Fill((id, value));

    private void OpenMembers(string key, string resource)
    {
        console.OpenSignedIn(key, "members");
        Fill("members-object", resource);
        console.Browser.FindElement(By.Id("members-show")).Click();
        console.Wait(driver => driver.FindElement(By.Id("invitations")).Displayed);
    }
}
