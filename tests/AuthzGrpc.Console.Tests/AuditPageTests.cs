using AuthzGrpc.Testing;
using AuthzGrpc.V1;
using Grpc.Core;
using OpenQA.Selenium;

namespace AuthzGrpc.Console.Tests;

/// <summary>
/// The Audit page in a real headless Chromium: the events ListAuditEvents answers for the same filters, following new
/// ones without asking, and the service's refusal for a key without the right.
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed class AuditPageTests(ConsoleServer console)
{
    [Fact]
    public async Task Filters_ShowExactlyTheEventsListAuditEventsAnswers()
    {
        await WriteAsync("zed");
        var overGrpc = await Management.ListAuditEventsAsync(new ListAuditEventsRequest
        {
            Resource = new ObjectRef { Type = "project", Id = "storefront" }, Actor = "user:admin", PageSize = 50,
        });
        Assert.NotEmpty(overGrpc.Events);
        OpenAudit(console.AdminKey);

        Fill("audit-object", "project:storefront");
        Fill("audit-actor", "user:admin");
        console.Browser.FindElement(By.Id("audit-search")).Click();
        console.Wait(driver => driver.FindElements(By.CssSelector("#audit-rows tr")).Count > 0);
        console.Screenshot("audit");

        Assert.Equal(overGrpc.Events.Select(e => e.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)), Ids());
        var first = console.Browser.FindElement(By.CssSelector("#audit-rows tr")).FindElements(By.TagName("td")).Select(td => td.Text).Take(6).ToList();
        Assert.Equal(overGrpc.Events[0].Actor, first[2]);
        Assert.Equal(overGrpc.Events[0].Operation, first[3]);
        Assert.Equal(overGrpc.Events[0].Target, first[4]);
        Assert.Equal(overGrpc.Events[0].Revision, first[5]);

        // A time window after every event: nothing.
        ((IJavaScriptExecutor)console.Browser).ExecuteScript("document.getElementById('audit-since').value = '2099-01-01T00:00:00'");
        console.Browser.FindElement(By.Id("audit-search")).Click();
        Assert.Equal("No events match.", console.Wait(driver => driver.FindElement(By.Id("audit-status")).Text is "No events match." ? "No events match." : null));
        Assert.Empty(console.Browser.FindElements(By.CssSelector("#audit-rows tr")));
        Assert.Empty(console.BrowserErrors());
    }

    [Fact]
    public async Task Follow_ShowsANewEvent_WithoutAsking()
    {
        OpenAudit(console.AdminKey);
        Fill("audit-object", "project:storefront");
        console.Browser.FindElement(By.Id("audit-search")).Click();
        console.Wait(driver => driver.FindElement(By.Id("audit-status")).Displayed);
        console.Browser.FindElement(By.Id("audit-follow")).Click();

        await WriteAsync("yan");
        var newest = (await Management.ListAuditEventsAsync(new ListAuditEventsRequest
        {
            Resource = new ObjectRef { Type = "project", Id = "storefront" }, PageSize = 1,
        })).Events.Single();

        // Within a few follow rounds, with no click: the new event at the top.
        var expected = newest.Id.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var shown = console.Wait(_ => Ids().FirstOrDefault() == expected ? expected : null);
        Assert.Equal(expected, shown);
        Assert.Contains("user:yan", console.Browser.FindElement(By.CssSelector("#audit-rows tr")).GetDomProperty("textContent"), StringComparison.Ordinal);
        console.Browser.FindElement(By.Id("audit-follow")).Click();
    }

    [Fact]
    public async Task AKeyWithoutTheRight_SeesPermissionDenied_WithTheServicesReason()
    {
        var overGrpc = await Assert.ThrowsAsync<RpcException>(async () =>
            await new ManagementService.ManagementServiceClient(TestKeys.Channel(console.Server.Address, console.CheckKey))
                .ListAuditEventsAsync(new ListAuditEventsRequest { Resource = new ObjectRef { Type = "project", Id = "storefront" } }));
        OpenAudit(console.CheckKey);
        Fill("audit-object", "project:storefront");

        console.Browser.FindElement(By.Id("audit-search")).Click();

        Assert.Equal(StatusCode.PermissionDenied, overGrpc.StatusCode);
        Assert.Equal($"PERMISSION_DENIED: {overGrpc.Status.Detail}", console.Shown("audit-error"));
        console.Screenshot("audit-refusal");
    }

    private ManagementService.ManagementServiceClient Management => new(console.Server.Channel);

    // An audited write over gRPC by the admin key: project:storefront gains a viewer.
    private async Task WriteAsync(string user) =>
        await new RelationshipService.RelationshipServiceClient(console.Server.Channel).WriteRelationshipsAsync(new WriteRelationshipsRequest
        {
            Updates =
            {
                new RelationshipUpdate
                {
                    Operation = Operation.Touch,
                    Relationship = new Relationship
                    {
                        Resource = new ObjectRef { Type = "project", Id = "storefront" },
                        Relation = "viewer",
                        Subject = new SubjectRef { Object = new ObjectRef { Type = "user", Id = user } },
                    },
                },
            },
        });

    private List<string> Ids() =>
        [.. console.Browser.FindElements(By.CssSelector("#audit-rows tr")).Select(row => row.GetDomAttribute("data-id") ?? string.Empty)];

    private void Fill(string id, string value) => console.Fill((id, value));

    private void OpenAudit(string key) => console.OpenSignedIn(key, "audit");
}
