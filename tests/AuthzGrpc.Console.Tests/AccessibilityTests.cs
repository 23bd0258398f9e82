using AuthzGrpc.Testing;
using AuthzGrpc.V1;
using OpenQA.Selenium;
using OpenQA.Selenium.Interactions;

namespace AuthzGrpc.Console.Tests;

/// <summary>
/// Accessibility of every page, checked by a tool and by the keyboard: axe-core finds no serious or critical violation
/// in each page as it opens and as it is used (with answers, lists and panels shown), and a person with only a
/// keyboard signs in, asks a Check and opens its explanation, loads a seed model and goes to its problem, removes a
/// member after the cascade report and searches the audit log, with Tab, typing and Enter (and the arrow keys in a
/// list), always seeing where the focus is.
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed class AccessibilityTests(ConsoleServer console)
{
    // More Tab presses than these walks need to reach a form's field: one not reached within them is not reachable in
    // practice. A button in a list is further: past every row above it.
    private const int MostTabs = 15;

    [Fact]
    public void TheTool_FindsAViolationPlantedInThePage()
    {
        // So that an empty list below means axe ran and found nothing, not that it never ran.
        console.OpenSignedOut();
        ((IJavaScriptExecutor)console.Browser).ExecuteScript(
            "const b = document.createElement('button'); b.id = 'planted'; document.querySelector('main').append(b);");

        Assert.Contains(Accessibility.SeriousViolations(console.Browser), violation => violation.StartsWith("button-name (critical)", StringComparison.Ordinal) && violation.EndsWith("#planted", StringComparison.Ordinal));
    }

    [Fact]
    public void SignInPage_WithARefusalShown_HasNoSeriousViolations()
    {
        console.OpenSignedOut();
        var opened = Accessibility.SeriousViolations(console.Browser);
        console.Browser.FindElement(By.Id("api-key")).SendKeys("azk_nosuchkey01_" + new string('A', 44));
        console.Browser.FindElement(By.Id("sign-in")).Click();
        console.Shown("sign-in-error");

        Assert.Empty(opened);
        Assert.Empty(Accessibility.SeriousViolations(console.Browser));
    }

    [Fact]
    public void DecisionsPage_WithAnExplanationTree_HasNoSeriousViolations()
    {
        console.OpenSignedIn(console.CheckKey);
        var opened = Accessibility.SeriousViolations(console.Browser);
        console.Ask("user:olivia", "view", "project:storefront");
        console.Browser.FindElement(By.Id("explain")).Click();
        console.Wait(driver => driver.FindElements(By.CssSelector("#explain-tree li")).Count > 0);

        Assert.Empty(opened);
        Assert.Empty(Accessibility.SeriousViolations(console.Browser));
    }

    [Fact]
    public void PlaygroundPage_WithASeedModelAndAProblem_HasNoSeriousViolations()
    {
        console.OpenSignedIn(console.AdminKey, "playground");
        var opened = Accessibility.SeriousViolations(console.Browser);
        console.Wait(driver => driver.FindElements(By.CssSelector("#pg-model option")).Count > 1);
        console.Browser.FindElement(By.XPath("//select[@id='pg-model']/option[text()='004-team-hierarchy']")).Click();
        console.Browser.FindElement(By.Id("pg-load")).Click();
        console.Wait(driver => driver.FindElement(By.Id("pg-status")).Text.StartsWith("Valid", StringComparison.Ordinal));
        console.Fill(("pg-relationships", "this is not a relationship"));
        console.Wait(driver => driver.FindElements(By.CssSelector("#pg-problems .problem")).Count > 0);

        Assert.Empty(opened);
        Assert.Empty(Accessibility.SeriousViolations(console.Browser));
    }

    [Fact]
    public void MembersPage_WithMembersInvitationsAndACascadeReport_HasNoSeriousViolations()
    {
        console.OpenSignedIn(console.ManagementKey, "members");
        var opened = Accessibility.SeriousViolations(console.Browser);
        console.Fill(("members-object", "project:storefront"));
        console.Browser.FindElement(By.Id("members-show")).Click();
        console.Wait(driver => driver.FindElement(By.Id("invitations")).Displayed);
        // The cascade report of a removal (a dry run: nothing changes until it is confirmed, and it is not).
        console.Browser.FindElement(By.CssSelector("#members-rows tr[data-subject='user:priya'] button.remove")).Click();
        console.Wait(driver => driver.FindElement(By.Id("members-confirm")).Displayed);

        Assert.Empty(opened);
        Assert.Empty(Accessibility.SeriousViolations(console.Browser));
    }

    [Fact]
    public void AuditPage_WithEventsAndAChangeOpened_HasNoSeriousViolations()
    {
        console.OpenSignedIn(console.AdminKey, "audit");
        var opened = Accessibility.SeriousViolations(console.Browser);
        console.Fill(("audit-object", "project:storefront"));
        console.Browser.FindElement(By.Id("audit-search")).Click();
        console.Wait(driver => driver.FindElements(By.CssSelector("#audit-rows tr summary")).Count > 0);
        console.Browser.FindElement(By.CssSelector("#audit-rows tr summary")).Click();

        Assert.Empty(opened);
        Assert.Empty(Accessibility.SeriousViolations(console.Browser));
    }

    [Fact]
    public void SignIn_ACheck_AndItsExplanation_TakeOnlyTheKeyboard_WithTheFocusAlwaysVisible()
    {
        console.OpenSignedOut();

        // Sign in: the key field is the first stop, Enter submits.
        TabTo("the API key field", "document.activeElement.id === 'api-key'");
        Type(console.CheckKey + Keys.Enter);
        console.Wait(driver => driver.FindElement(By.Id("identity")) is { Displayed: true, Text.Length: > 0 });

        // A Check: the form's fields in order, Enter submits it.
        TabTo("the subject field", "document.activeElement.id === 'check-subject'");
        Type("user:olivia" + Keys.Tab + "view" + Keys.Tab + "project:storefront" + Keys.Enter);
        var decision = console.Shown("decision");

        // Its explanation: Tab to Explain, Enter; then the tree's first branch closes and opens again with Enter.
        TabTo("the Explain button", "document.activeElement.id === 'explain'");
        Type(Keys.Enter);
        console.Wait(driver => driver.FindElements(By.CssSelector("#explain-tree summary")).Count > 0);
        TabTo("the explanation's first branch", "document.activeElement === document.querySelector('#explain-tree summary')");
        Type(Keys.Enter);
        var closed = Script("return document.querySelector('#explain-tree details').open");
        Type(Keys.Enter);
        var reopened = Script("return document.querySelector('#explain-tree details').open");

        Assert.StartsWith("ALLOWED at revision ", decision, StringComparison.Ordinal);
        Assert.Equal(false, closed);
        Assert.Equal(true, reopened);
        Assert.Empty(console.BrowserErrors());
    }

    [Fact]
    public async Task ARemoval_AfterItsCascadeReport_TakesOnlyTheKeyboard()
    {
        var olivia = new ManagementService.ManagementServiceClient(TestKeys.Channel(console.Server.Address, console.ManagementKey));
        var storefront = new ObjectRef { Type = "project", Id = "storefront" };
        await olivia.GrantRoleAsync(new GrantRoleRequest
        {
            Resource = storefront, Role = "developer", Subject = new SubjectRef { Object = new ObjectRef { Type = "user", Id = "kit" } },
        });
        console.OpenSignedIn(console.ManagementKey, "members");

        TabTo("the object field", "document.activeElement.id === 'members-object'");
        Type("project:storefront" + Keys.Enter);
        console.Wait(driver => driver.FindElements(By.CssSelector("#members-rows tr[data-subject='user:kit']")).Count == 1);
        var members = console.Browser.FindElements(By.CssSelector("#members-rows tr")).Count;
        // Past every row's two buttons above kit's.
        TabTo("kit's Remove button", "document.activeElement.getAttribute('aria-label') === 'Remove user:kit'", MostTabs + (2 * members));
        Type(Keys.Enter);
        console.Wait(driver => driver.FindElement(By.Id("members-confirm")).Displayed);
        // The report takes the focus to its confirmation, so Enter removes.
        var focused = Script("return document.activeElement.id");
        Type(Keys.Enter);
        var removed = console.Shown("members-result");

        Assert.Equal("members-remove-yes", focused);
        Assert.StartsWith("Removed user:kit from project:storefront at revision ", removed, StringComparison.Ordinal);
        Assert.DoesNotContain((await olivia.ListMembersAsync(new ListMembersRequest { Resource = storefront })).Members, m => m.Subject.Object.Id == "kit");
    }

    [Fact]
    public void AnAuditSearch_AndAnEventsChange_TakeOnlyTheKeyboard()
    {
        console.OpenSignedIn(console.AdminKey, "audit");

        TabTo("the object field", "document.activeElement.id === 'audit-object'");
        Type("project:storefront" + Keys.Enter);
        console.Wait(driver => driver.FindElements(By.CssSelector("#audit-rows summary")).Count > 0);
        // Past the two date-time fields, each a stop per part (month, day, year, hours, minutes, seconds, AM/PM).
        TabTo("the first event's change", "document.activeElement === document.querySelector('#audit-rows summary')", MostTabs * 3);
        Type(Keys.Enter);

        Assert.Equal(true, Script("return document.querySelector('#audit-rows details').open"));
    }

    [Fact]
    public void ASeedModel_ItsProblem_AndTheWayToIt_TakeOnlyTheKeyboard()
    {
        console.OpenSignedIn(console.AdminKey, "playground");
        console.Wait(driver => driver.FindElements(By.CssSelector("#pg-model option")).Count > 1);

        // The list of models: the arrow keys choose in it (a closed list), Tab leaves it for Load, Enter loads.
        TabTo("the list of models", "document.activeElement.id === 'pg-model'");
        for (var presses = 0; presses < 30 && Script("return document.getElementById('pg-model').selectedOptions[0].text") is not "004-team-hierarchy"; presses++)
        {
            Type(Keys.ArrowDown);
        }

        TabTo("Load", "document.activeElement.id === 'pg-load'");
        Type(Keys.Enter);
        console.Wait(driver => driver.FindElement(By.Id("pg-status")).Text.StartsWith("Valid", StringComparison.Ordinal));
        // The editors keep Tab for leaving them (no trap): typed at the schema's end, an error.
        TabTo("the schema", "document.activeElement.id === 'pg-schema'");
        new Actions(console.Browser).KeyDown(Keys.Control).SendKeys(Keys.End).KeyUp(Keys.Control).Perform();
        Type("\ndefinition broken {\n    relation owner: nosuchtype\n}\n");
        console.Wait(driver => driver.FindElements(By.CssSelector("#pg-problems .problem")).Count == 1);
        TabTo("the problem", "document.activeElement === document.querySelector('#pg-problems .problem')");
        Type(Keys.Enter);

        // Enter on the problem puts the cursor in the schema, on the error's line.
        var cursorLine = Script("const a = document.activeElement; return a.id === 'pg-schema' ? a.value.slice(0, a.selectionStart).split('\\n').length : -1");
        var errorLine = Script("return document.getElementById('pg-schema').value.split('\\n').findIndex(line => line.includes('nosuchtype')) + 1");
        Assert.NotEqual(0L, errorLine);
        Assert.Equal(errorLine, cursorLine);
    }

    // Presses Tab until the focus is where `reached` (a script expression) says, at most MostTabs times, checking at
    // every stop that the focused element shows the focus ring.
    private void TabTo(string what, string reached, int most = MostTabs)
    {
        for (var presses = 0; presses < most; presses++)
        {
            Type(Keys.Tab);
            var focused = (string)Script("const e = document.activeElement; return e.id || e.tagName")!;
            Assert.True(
                Script("return getComputedStyle(document.activeElement).outlineStyle") is not "none",
                $"the focus on {focused} is not visible");
            if (Script($"return {reached}") is true)
            {
                return;
            }
        }

        Assert.Fail($"{what} is not reached with {most} presses of Tab");
    }

    private void Type(string keys) => new Actions(console.Browser).SendKeys(keys).Perform();

    private object? Script(string script) => ((IJavaScriptExecutor)console.Browser).ExecuteScript(script);
}
