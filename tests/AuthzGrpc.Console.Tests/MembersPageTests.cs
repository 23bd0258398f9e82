using AuthzGrpc.Testing;
using AuthzGrpc.V1;
using Grpc.Core;
using OpenQA.Selenium;

namespace AuthzGrpc.Console.Tests;

/// <summary>
/// The Members page in a real headless Chromium: the members ListMembers answers, with their roles and sources; a
/// removal shows what it takes away before anything changes, then removes what RemoveMember removes; the service's
/// refusal for a key without the right.
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed class MembersPageTests(ConsoleServer console)
{
    private static readonly ObjectRef Storefront = new() { Type = "project", Id = "storefront" };

    private ManagementService.ManagementServiceClient Management => new(console.Server.Channel);

    [Fact]
    public async Task Members_AreThoseListMembersAnswers_WithTheirRolesAndSources()
    {
        var overGrpc = await Management.ListMembersAsync(new ListMembersRequest { Resource = Storefront });
        OpenMembers(console.AdminKey);

        Show("project:storefront");
        console.Screenshot("members");

        var rows = console.Browser.FindElements(By.CssSelector("#members-rows tr"));
        Assert.Equal(overGrpc.Members.Select(m => Text(m.Subject)), rows.Select(r => r.GetDomAttribute("data-subject")));
        // Each role as its label, and where it comes from: stored here, inherited from above, or through a group.
        foreach (var (member, row) in overGrpc.Members.Zip(rows))
        {
            var shown = row.FindElements(By.CssSelector(".roles li")).Select(li => li.Text).ToList();
            Assert.Equal(member.Roles.Select(role => role.Label), shown.Select(text => text.Split(" — ")[0]));
            Assert.All(member.Roles.Zip(shown), pair => Assert.Contains(
                pair.First.Inherited ? $"inherited from {pair.First.GrantedOn.Type}:{pair.First.GrantedOn.Id}" : "on this object", pair.Second, StringComparison.Ordinal));
        }

        Assert.Contains(overGrpc.Members.SelectMany(m => m.Roles), role => role.Inherited);
        Assert.Empty(console.BrowserErrors());
    }

    [Fact]
    public async Task Remove_ShowsWhatItTakesAway_BeforeConfirming_ThenRemovesIt()
    {
        // Management calls are judged by the model for the key's subject, admin keys too: olivia owns the organization.
        var olivia = new ManagementService.ManagementServiceClient(TestKeys.Channel(console.Server.Address, console.ManagementKey));
        var zoe = new SubjectRef { Object = new ObjectRef { Type = "user", Id = "zoe" } };
        await olivia.GrantRoleAsync(new GrantRoleRequest { Resource = Storefront, Role = "developer", Subject = zoe });
        OpenMembers(console.ManagementKey);
        Show("project:storefront");

        console.Browser.FindElement(By.CssSelector("#members-rows tr[data-subject='user:zoe'] button.remove")).Click();
        List<string> report = console.Wait(driver => driver.FindElement(By.Id("members-confirm")).Displayed
            ? driver.FindElements(By.CssSelector("#members-cascade li")).Select(li => li.Text).ToList()
            : null)!;
        console.Screenshot("members-remove-report");

        // Read before confirming: nothing has changed yet. The grant and the base membership it implied.
        Assert.Equal(["project:storefront#developer@user:zoe", "project:storefront#participant@user:zoe"], report);
        Assert.Contains((await Management.ListMembersAsync(new ListMembersRequest { Resource = Storefront })).Members, m => m.Subject.Object.Id == "zoe");

        console.Browser.FindElement(By.Id("members-remove-yes")).Click();
        var result = console.Shown("members-result");

        Assert.StartsWith("Removed user:zoe from project:storefront at revision ", result, StringComparison.Ordinal);
        // The report said exactly what the cascade removed.
        Assert.Equal(report.Order(StringComparer.Ordinal), result[(result.IndexOf(": ", StringComparison.Ordinal) + 2)..].Split(", ").Order(StringComparer.Ordinal));
        Assert.DoesNotContain((await Management.ListMembersAsync(new ListMembersRequest { Resource = Storefront })).Members, m => m.Subject.Object.Id == "zoe");
        console.Wait(driver => driver.FindElements(By.CssSelector("#members-rows tr[data-subject='user:zoe']")).Count == 0);
    }

    [Fact]
    public async Task Remove_ThatTheServiceRefuses_IsRefusedBeforeAnythingIsOffered_WithItsReason()
    {
        // Olivia removing herself from the organization she alone owns: the dry run over gRPC says why not.
        var olivia = new ManagementService.ManagementServiceClient(TestKeys.Channel(console.Server.Address, console.ManagementKey));
        var northwind = new ObjectRef { Type = "organization", Id = "northwind" };
        var overGrpc = await Assert.ThrowsAsync<RpcException>(async () => await olivia.RemoveMemberAsync(new RemoveMemberRequest
        {
            Resource = northwind,
            Subject = new SubjectRef { Object = new ObjectRef { Type = "user", Id = "olivia" } },
            DryRun = true,
        }));
        OpenMembers(console.ManagementKey);
        Show("organization:northwind");

        console.Browser.FindElement(By.CssSelector("#members-rows tr[data-subject='user:olivia'] button.remove")).Click();

        Assert.EndsWith(overGrpc.Status.Detail, console.Shown("members-error"), StringComparison.Ordinal);
        Assert.False(console.Browser.FindElement(By.Id("members-confirm")).Displayed);
        Assert.Contains((await Management.ListMembersAsync(new ListMembersRequest { Resource = northwind })).Members, m => m.Subject.Object.Id == "olivia");
    }

    [Fact]
    public async Task AKeyWithoutTheRight_SeesPermissionDenied_WithTheServicesReason()
    {
        var overGrpc = await Assert.ThrowsAsync<RpcException>(async () =>
            await new ManagementService.ManagementServiceClient(TestKeys.Channel(console.Server.Address, console.CheckKey))
                .ListMembersAsync(new ListMembersRequest { Resource = Storefront }));
        OpenMembers(console.CheckKey);

        console.Browser.FindElement(By.Id("members-object")).SendKeys("project:storefront");
        console.Browser.FindElement(By.Id("members-show")).Click();

        Assert.Equal(StatusCode.PermissionDenied, overGrpc.StatusCode);
        Assert.Equal($"PERMISSION_DENIED: {overGrpc.Status.Detail}", console.Shown("members-error"));
    }

    [Fact]
    public async Task SetRoles_ChangesAMembersRolesOnTheObject_AsSetRolesDoes()
    {
        var olivia = new ManagementService.ManagementServiceClient(TestKeys.Channel(console.Server.Address, console.ManagementKey));
        var una = new SubjectRef { Object = new ObjectRef { Type = "user", Id = "una" } };
        await olivia.GrantRoleAsync(new GrantRoleRequest { Resource = Storefront, Role = "developer", Subject = una });
        OpenMembers(console.ManagementKey);
        Show("project:storefront");

        console.Browser.FindElement(By.CssSelector("#members-rows tr[data-subject='user:una'] button.change-roles")).Click();
        Assert.StartsWith("developer", console.Shown("roles-now"), StringComparison.Ordinal);
        console.Browser.FindElement(By.Id("roles-value")).SendKeys("viewer");
        console.Browser.FindElement(By.Id("roles-save")).Click();
        var result = console.Shown("members-result");

        Assert.StartsWith("Set the roles of user:una on project:storefront at revision ", result, StringComparison.Ordinal);
        Assert.Contains("added: project:storefront#viewer@user:una; removed: project:storefront#developer@user:una", result, StringComparison.Ordinal);
        var roles = (await olivia.ListMembersAsync(new ListMembersRequest { Resource = Storefront })).Members.Single(m => m.Subject.Object.Id == "una").Roles;
        // The base membership (participant) is kept, as SetRoles keeps it.
        Assert.Equal(["participant", "viewer"], roles.Select(r => r.Role).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Leave_RemovesTheCaller_AndAnyRefusalIsTheServices()
    {
        var olivia = new ManagementService.ManagementServiceClient(TestKeys.Channel(console.Server.Address, console.ManagementKey));
        // Organization admins may leave it (the default model's leave rule: owners and admins).
        var northwind = new ObjectRef { Type = "organization", Id = "northwind" };
        var wes = new SubjectRef { Object = new ObjectRef { Type = "user", Id = "wes" } };
        await olivia.GrantRoleAsync(new GrantRoleRequest { Resource = northwind, Role = "admin", Subject = wes });
        var wesKey = (await new ApiKeyService.ApiKeyServiceClient(console.Server.Channel).CreateApiKeyAsync(new CreateApiKeyRequest { Subject = wes, Kind = KeyKind.Management })).Key;
        // Over gRPC first: what the service answers to a transfer of a role olivia does not hold there.
        var transferOverGrpc = await Assert.ThrowsAsync<RpcException>(async () => await olivia.TransferOwnershipAsync(new TransferOwnershipRequest
        {
            Resource = Storefront, Role = "owner", To = wes,
        }));

        OpenMembers(wesKey);
        console.Browser.FindElement(By.Id("leave-object")).SendKeys("organization:northwind");
        console.Browser.FindElement(By.Id("leave")).Click();
        var left = console.Shown("members-result");
        OpenMembers(console.ManagementKey);
        console.Fill(("transfer-object", "project:storefront"), ("transfer-role", "owner"), ("transfer-to", "user:wes"));
        console.Browser.FindElement(By.Id("transfer")).Click();
        var refused = console.Shown("members-error");

        Assert.StartsWith("Left organization:northwind at revision ", left, StringComparison.Ordinal);
        Assert.Contains("organization:northwind#admin@user:wes", left[left.IndexOf("removed: ", StringComparison.Ordinal)..], StringComparison.Ordinal);
        Assert.DoesNotContain((await olivia.ListMembersAsync(new ListMembersRequest { Resource = northwind })).Members, m => m.Subject.Object.Id == "wes");
        Assert.Equal($"{Name(transferOverGrpc.StatusCode)}: {transferOverGrpc.Status.Detail}", refused);
    }

    // PERMISSION_DENIED for StatusCode.PermissionDenied: the form the console shows.
    private static string Name(StatusCode code) =>
        string.Concat(code.ToString().Select((c, i) => i > 0 && char.IsUpper(c) ? "_" + c : c.ToString())).ToUpperInvariant();

    private static string Text(SubjectRef subject) =>
        $"{subject.Object.Type}:{subject.Object.Id}" + (subject.Relation.Length > 0 ? "#" + subject.Relation : string.Empty);

    private void Show(string resource)
    {
        console.Fill(("members-object", resource));
        console.Browser.FindElement(By.Id("members-show")).Click();
        console.Wait(driver => driver.FindElement(By.Id("members-status")).Displayed);
    }

    private void OpenMembers(string key) => console.OpenSignedIn(key, "members");
}
