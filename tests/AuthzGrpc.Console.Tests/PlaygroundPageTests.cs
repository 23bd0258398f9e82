using AuthzGrpc.Testing;
using AuthzGrpc.V1;
using Grpc.Core;
using OpenQA.Selenium;

namespace AuthzGrpc.Console.Tests;

/// <summary>
/// The Playground in a real headless Chromium: a seed model loads and validates on the server, a deliberate error is
/// shown at the line and column the RPC answers, choosing it moves the cursor there, and a key without the right sees
/// the service's PERMISSION_DENIED.
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed class PlaygroundPageTests(ConsoleServer console)
{
    private const string Model = "004-team-hierarchy";

    [Fact]
    public void ASeedModel_Loads_AndIsValidatedByTheServer()
    {
        OpenPlayground(console.AdminKey);

        Load(Model);

        var status = console.Wait(driver => driver.FindElement(By.Id("pg-status")).Text is { } text && text.StartsWith("Valid", StringComparison.Ordinal) ? text : null);
        Assert.Matches(@"^Valid: \d+ relationships, \d+ assertions hold$", status);
        Assert.Empty(console.Browser.FindElements(By.CssSelector("#pg-problems li")));
        Assert.Empty(console.BrowserErrors());
    }

    [Fact]
    public async Task ADeliberateError_IsShownAtItsLineAndColumn_AsTheRpcAnswers_AndChoosingItMovesTheCursorThere()
    {
        OpenPlayground(console.AdminKey);
        Load(Model);
        console.Wait(driver => driver.FindElement(By.Id("pg-status")).Text.StartsWith("Valid", StringComparison.Ordinal));

        // Typed at the end of the schema, as a user would: a relation whose subject type does not exist.
        var schema = console.Browser.FindElement(By.Id("pg-schema"));
        schema.SendKeys(Keys.Control + Keys.End);
        schema.SendKeys("\ndefinition broken {\n    relation owner: nosuchtype\n}\n");
        var shown = console.Wait(driver => driver.FindElements(By.CssSelector("#pg-problems .problem")) is { Count: 1 } problems ? problems[0].Text : null);
        console.Screenshot("playground-error");

        var text = (string)((IJavaScriptExecutor)console.Browser).ExecuteScript("return document.getElementById('pg-schema').value")!;
        var model = ValidateModelTests.Models().Single(m => m.GetProperty("name").GetString() == Model);
        var overGrpc = await new SchemaService.SchemaServiceClient(console.Server.Channel).ValidateModelAsync(new ValidateModelRequest
        {
            Schema = text,
            Relationships = model.GetProperty("relationships").GetString(),
            Assertions = model.GetProperty("assertions").GetString(),
        });
        var problem = Assert.Single(overGrpc.Problems);
        var errorLine = text.Split('\n').ToList().FindIndex(line => line.Contains("nosuchtype", StringComparison.Ordinal)) + 1;
        Assert.Equal((ModelPart.Schema, errorLine), (problem.Part, problem.Line));
        Assert.Equal($"schema {problem.Line}:{problem.Column} {problem.Message}", shown);

        console.Browser.FindElement(By.CssSelector("#pg-problems .problem")).Click();
        var cursor = Convert.ToInt32(((IJavaScriptExecutor)console.Browser).ExecuteScript(
            "const a = document.getElementById('pg-schema'); return document.activeElement === a ? a.selectionStart : -1"), System.Globalization.CultureInfo.InvariantCulture);
        var expected = text.Split('\n').Take(problem.Line - 1).Sum(line => line.Length + 1) + problem.Column - 1;
        Assert.Equal(expected, cursor);
    }

    [Fact]
    public void ASchemaWarning_IsShownAtItsLine_AndTheModelStaysValid()
    {
        OpenPlayground(console.AdminKey);
        Load(Model);
        console.Wait(driver => driver.FindElement(By.Id("pg-status")).Text.StartsWith("Valid", StringComparison.Ordinal));

        // A permission that only walks up to itself loads (as in SpiceDB) but can never grant: a warning, not a problem.
        var schema = console.Browser.FindElement(By.Id("pg-schema"));
        schema.SendKeys(Keys.Control + Keys.End);
        schema.SendKeys("\ndefinition loop_doc {\n    relation parent: loop_doc\n    permission view = parent->view\n}\n");
        var shown = console.Wait(driver => driver.FindElements(By.CssSelector("#pg-problems .warning")) is { Count: 1 } warnings ? warnings[0].Text : null);

        var text = (string)((IJavaScriptExecutor)console.Browser).ExecuteScript("return document.getElementById('pg-schema').value")!;
        var line = text.Split('\n').ToList().FindIndex(l => l.Contains("permission view = parent->view", StringComparison.Ordinal)) + 1;
        Assert.StartsWith($"schema {line}:", shown, StringComparison.Ordinal);
        Assert.Contains("warning: ", shown, StringComparison.Ordinal);
        Assert.Empty(console.Browser.FindElements(By.CssSelector("#pg-problems .problem")));
        Assert.EndsWith("assertions hold; 1 warning", console.Browser.FindElement(By.Id("pg-status")).Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AKeyWithoutTheRight_SeesPermissionDenied_WithTheServicesReason()
    {
        var overGrpc = await Assert.ThrowsAsync<RpcException>(async () =>
            await new SchemaService.SchemaServiceClient(TestKeys.Channel(console.Server.Address, console.CheckKey))
                .ValidateModelAsync(new ValidateModelRequest { Schema = "definition user {}" }));
        OpenPlayground(console.CheckKey);

        console.Browser.FindElement(By.Id("pg-schema")).SendKeys("definition user {}");

        Assert.Equal(StatusCode.PermissionDenied, overGrpc.StatusCode);
        Assert.Equal($"PERMISSION_DENIED: {overGrpc.Status.Detail}", console.Shown("pg-error"));
        console.Screenshot("playground-refusal");
    }

    [Fact]
    public async Task Apply_RefusesToOrphanStoredRelationships_UnlessForced_ThenTheServerHoldsTheModel()
    {
        // The server's schema, loaded and edited: console_scratch (a type of this test's own, with a stored
        // relationship; ConsoleServer.AddedSchema) is replaced by console_board, with relationships and an assertion.
        var schemas = new SchemaService.SchemaServiceClient(console.Server.Channel);
        OpenPlayground(console.AdminKey);
        console.Browser.FindElement(By.Id("pg-load-server")).Click();
        var loaded = console.Wait(driver => driver.FindElement(By.Id("pg-schema")).GetDomProperty("value") is { } text && text.Contains("definition console_scratch", StringComparison.Ordinal) ? text : null)!;
        var edited = loaded.Replace("""
            definition console_scratch {
                relation viewer: user
            }
            """, """
            definition console_board {
                relation viewer: user
                permission view = viewer
            }
            """, StringComparison.Ordinal);
        Assert.NotEqual(loaded, edited);
        console.Fill(("pg-schema", edited), ("pg-relationships", "console_board:b1#viewer@user:sam\nconsole_board:b2#viewer@user:tia"),
            ("pg-assertions", "assertTrue:\n  - console_board:b1#view@user:sam\n"));

        // The answer for what was filled in, not the one shown since the server's schema was loaded.
        console.Wait(driver => driver.FindElement(By.Id("pg-status")).Text.StartsWith("Valid: 2 relationships, 1 assertions hold", StringComparison.Ordinal));

        // console_scratch:old#viewer@user:sam would be orphaned: refused, as WriteSchema refuses any client.
        console.Browser.FindElement(By.Id("pg-apply")).Click();
        console.Browser.FindElement(By.Id("pg-apply-yes")).Click();
        var refused = console.Shown("pg-error");
        Assert.StartsWith("FAILED_PRECONDITION: ", refused, StringComparison.Ordinal);
        Assert.Equal(loaded, (await schemas.ReadSchemaAsync(new ReadSchemaRequest())).Schema);

        console.Browser.FindElement(By.Id("pg-apply")).Click();
        console.Browser.FindElement(By.Id("pg-force")).Click();
        console.Browser.FindElement(By.Id("pg-apply-yes")).Click();
        var applied = console.Shown("pg-apply-result");
        console.Screenshot("playground-applied", showing: "#pg-apply-result");

        var stored = await schemas.ReadSchemaAsync(new ReadSchemaRequest());
        Assert.Equal(edited, stored.Schema);
        Assert.Equal($"Applied: the schema and 2 relationships, at revision {stored.Revision}", applied);
        Assert.Equal(Decision.Allowed, (await Check("user:tia", "view", "console_board", "b2")).Decision);
        // Stored relationships that fit the new schema stay.
        Assert.Equal(Decision.Allowed, (await Check("user:olivia", "view", "project", "storefront")).Decision);
    }

    private async Task<CheckResponse> Check(string subject, string action, string type, string id)
    {
        var colon = subject.IndexOf(':', StringComparison.Ordinal);
        return await console.Server.Authorization.CheckAsync(new CheckRequest
        {
            Subject = new SubjectRef { Object = new ObjectRef { Type = subject[..colon], Id = subject[(colon + 1)..] } },
            Action = action,
            Resource = new ObjectRef { Type = type, Id = id },
        });
    }

    private void OpenPlayground(string key) => console.OpenSignedIn(key, "playground");

    private void Load(string name)
    {
        // The list is fetched with the page: wait for it before choosing.
        console.Wait(driver => driver.FindElements(By.CssSelector("#pg-model option")).Count > 1);
        console.Browser.FindElement(By.XPath($"//select[@id='pg-model']/option[text()='{name}']")).Click();
        console.Browser.FindElement(By.Id("pg-load")).Click();
    }
}
