using AuthzGrpc.V1;
using Grpc.Core;
using OpenQA.Selenium;

namespace AuthzGrpc.Console.Tests;

/// <summary>
/// The console in a real headless Chromium against a real server: sign-in, the identity shown, Check and Explain on the
/// Decisions page, refusals shown as the service gave them (compared with the same call over gRPC).
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed class DecisionsPageTests(ConsoleServer console)
{
    private static readonly string[] DecisionControls = ["check-subject", "check-action", "check-resource", "check", "explain"];

    [Fact]
    public void SignIn_ShowsTheSubjectKindAndIdOfTheKey_AndKeepsTheKeyOutOfTheUrl()
    {
        console.OpenSignedOut();
        console.Screenshot("sign-in");

        var identity = console.SignIn(console.CheckKey);

        Assert.Equal($"Acting as user:olivia (check key {console.CheckKeyId})", identity);
        Assert.DoesNotContain(console.CheckKey, console.Browser.Url, StringComparison.Ordinal);
        Assert.Equal(string.Empty, console.Browser.FindElement(By.Id("api-key")).GetAttribute("value"));
        Assert.Equal("password", console.Browser.FindElement(By.Id("api-key")).GetAttribute("type"));
        Assert.True(console.Browser.FindElement(By.Id("page-decisions")).Displayed);
        Assert.Empty(console.BrowserErrors());
    }

    [Fact]
    public void SignOut_ForgetsTheKey_AndShowsTheSignInPageAgain()
    {
        console.OpenSignedIn(console.AdminKey);

        console.Browser.FindElement(By.Id("sign-out")).Click();

        console.Wait(driver => driver.FindElement(By.Id("page-sign-in")).Displayed);
        Assert.Null(((IJavaScriptExecutor)console.Browser).ExecuteScript("return sessionStorage.getItem('authz-console-key')"));
        Assert.False(console.Browser.FindElement(By.Id("identity")).Displayed);
        // A reload stays signed out: nothing else kept the key.
        console.Browser.Navigate().Refresh();
        console.Wait(driver => driver.FindElement(By.Id("page-sign-in")).Displayed);
    }

    [Fact]
    public async Task SignIn_WithAnUnknownKey_ShowsUnauthenticated_WithTheServicesReason()
    {
        const string unknown = "azk_nosuchkey01_" + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        var overGrpc = await Assert.ThrowsAsync<RpcException>(async () =>
            await new AuthorizationService.AuthorizationServiceClient(Testing.TestKeys.Channel(console.Server.Address, unknown))
                .WhoAmIAsync(new WhoAmIRequest()));
        console.OpenSignedOut();

        console.Browser.FindElement(By.Id("api-key")).SendKeys(unknown);
        console.Browser.FindElement(By.Id("sign-in")).Click();

        Assert.Equal($"UNAUTHENTICATED: {overGrpc.Status.Detail}", console.Shown("sign-in-error"));
        Assert.True(console.Browser.FindElement(By.Id("page-sign-in")).Displayed);
        Assert.Null(((IJavaScriptExecutor)console.Browser).ExecuteScript("return sessionStorage.getItem('authz-console-key')"));
    }

    [Fact]
    public async Task Check_WithAKeyRevokedSinceSignIn_ShowsUnauthenticated_AsCheckAnswersOverGrpc()
    {
        // Every valid key may ask the Decisions page's questions: what refuses one there is a key no longer valid.
        var keys = new ApiKeyService.ApiKeyServiceClient(console.Server.Channel);
        var created = await keys.CreateApiKeyAsync(new CreateApiKeyRequest
        {
            Subject = Subject("user:olivia"), Kind = KeyKind.Check, Description = "revoked while signed in",
        });
        console.OpenSignedIn(created.Key);
        await keys.RevokeApiKeyAsync(new RevokeApiKeyRequest { KeyId = created.ApiKey.KeyId });
        var overGrpc = await Assert.ThrowsAsync<RpcException>(async () =>
            await new AuthorizationService.AuthorizationServiceClient(Testing.TestKeys.Channel(console.Server.Address, created.Key))
                .CheckAsync(Request("user:olivia", "view", "project", "storefront")));
        console.Ask("user:olivia", "view", "project:storefront");

        console.Browser.FindElement(By.Id("check")).Click();

        Assert.Equal(StatusCode.Unauthenticated, overGrpc.StatusCode);
        Assert.Equal($"UNAUTHENTICATED: {overGrpc.Status.Detail}", console.Shown("decision-error"));
        Assert.False(console.Browser.FindElement(By.Id("decision")).Displayed);
    }

    [Fact]
    public async Task Check_ShowsAllowedAndDenied_AsGrpcAnswers()
    {
        var grpc = console.Server.Authorization;
        var allowed = await grpc.CheckAsync(Request("user:olivia", "view", "project", "storefront"));
        var denied = await grpc.CheckAsync(Request("user:nobody", "view", "project", "storefront"));
        Assert.Equal(Decision.Allowed, allowed.Decision);
        Assert.Equal(Decision.Denied, denied.Decision);
        console.OpenSignedIn(console.CheckKey);

        console.Ask("user:olivia", "view", "project:storefront");
        console.Browser.FindElement(By.Id("check")).Click();
        var shownAllowed = console.Shown("decision");
        console.Screenshot("decisions-check", showing: "#decision");
        console.Ask("user:nobody", "view", "project:storefront");
        console.Browser.FindElement(By.Id("check")).Click();
        var shownDenied = console.Wait(driver => driver.FindElement(By.Id("decision")).Text is { } text && text.StartsWith("DENIED", StringComparison.Ordinal) ? text : null);

        Assert.StartsWith("ALLOWED at revision ", shownAllowed, StringComparison.Ordinal);
        Assert.Equal($"DENIED at revision {denied.Revision}", shownDenied);
        Assert.Empty(console.BrowserErrors());
    }

    [Fact]
    public async Task Explain_DrawsTheTree_WithTheDecidingPathMarkedDownToTheRelationship()
    {
        var overGrpc = await console.Server.Authorization.ExplainAsync(new ExplainRequest
        {
            Subject = Subject("user:olivia"), Action = "view", Resource = new ObjectRef { Type = "project", Id = "storefront" },
        });
        console.OpenSignedIn(console.CheckKey);
        console.Ask("user:olivia", "view", "project:storefront");

        console.Browser.FindElement(By.Id("explain")).Click();
        console.Wait(driver => driver.FindElements(By.CssSelector("#explain-tree li")).Count > 0);
        console.Screenshot("decisions-explain", showing: "#explain-tree");

        // textContent: steps in closed branches are not rendered, so Selenium's Text would be empty for them.
        var steps = console.Browser.FindElements(By.CssSelector("#explain-tree code")).Select(code => code.GetDomProperty("textContent")).ToList();
        Assert.Equal(Flatten(overGrpc.Root).Select(step => step.Step), steps);
        // The deciding path: the root, then at each level the children that came out as their parent, down to a leaf
        // that holds; every step on it holds (the check was allowed), and it is visible without opening anything.
        var deciding = console.Browser.FindElements(By.CssSelector("#explain-tree li.deciding"));
        Assert.True(deciding.Count >= 2, $"only {deciding.Count} deciding steps");
        Assert.All(deciding, item => Assert.Equal("✓", item.FindElement(By.CssSelector(".verdict")).Text));
        Assert.Contains(deciding, item => item.FindElements(By.TagName("details")).Count == 0 && item.Displayed);
        Assert.StartsWith("ALLOWED", console.Shown("decision"), StringComparison.Ordinal);
        Assert.Empty(console.BrowserErrors());
    }

    [Fact]
    public async Task ACaveatedGrant_IsConditionalWithoutItsContext_NamingWhatToSupply_AndDecidedWithIt_AsGrpcAnswers()
    {
        // console_report:q3#viewer@user:carla holds only from an address in 10.20.0.0/16 (ConsoleServer.AddedSchema):
        // without the caller's address the service can only answer CONDITIONAL, naming the parameter it lacks.
        var asked = Request("user:carla", "view", "console_report", "q3");
        var conditional = await console.Server.Authorization.CheckAsync(asked);
        var withAddress = asked.Clone();
        withAddress.CaveatContext = Google.Protobuf.WellKnownTypes.Struct.Parser.ParseJson("""{"user_ip": "10.20.1.2"}""");
        var decided = await console.Server.Authorization.CheckAsync(withAddress);
        console.OpenSignedIn(console.CheckKey);
        console.Ask("user:carla", "view", "console_report:q3");

        console.Browser.FindElement(By.Id("check")).Click();
        var shownConditional = console.Shown("decision");
        console.Screenshot("decisions-conditional", showing: "#decision");
        console.Fill(("check-caveat-context", """{"user_ip": "10.20.1.2"}"""));
        console.Browser.FindElement(By.Id("check")).Click();
        var shownDecided = console.Wait(driver => driver.FindElement(By.Id("decision")).Text is { } text && !text.StartsWith("CONDITIONAL", StringComparison.Ordinal) && text.Length > 0 ? text : null);

        Assert.Equal(Decision.Conditional, conditional.Decision);
        Assert.Equal(["user_ip"], conditional.PartialCaveatInfo.MissingRequiredContext);
        Assert.Equal($"CONDITIONAL at revision {conditional.Revision}: supply user_ip", shownConditional);
        Assert.Equal(Decision.Allowed, decided.Decision);
        Assert.Equal($"ALLOWED at revision {decided.Revision}", shownDecided);
        Assert.Empty(console.BrowserErrors());
    }

    [Fact]
    public async Task Check_OfAnUndefinedPermission_ShowsInvalidArgument_WithTheServicesMessage()
    {
        var overGrpc = await Assert.ThrowsAsync<RpcException>(async () =>
            await console.Server.Authorization.CheckAsync(Request("user:olivia", "fly", "project", "storefront")));
        console.OpenSignedIn(console.CheckKey);
        console.Ask("user:olivia", "fly", "project:storefront");

        console.Browser.FindElement(By.Id("check")).Click();

        Assert.Equal(StatusCode.InvalidArgument, overGrpc.StatusCode);
        Assert.Equal($"INVALID_ARGUMENT: {overGrpc.Status.Detail}", console.Shown("decision-error"));
        console.Screenshot("decisions-refusal", showing: "#decision-error");
    }

    [Fact]
    public void ValuesFromTheService_AreShownAsText_NeverAsMarkup()
    {
        console.OpenSignedIn(console.CheckKey);
        // The service quotes the unknown type in its refusal; the page must show the markup, not build it.
        console.Ask("user:olivia", "view", "<img id=injected src=x>:1");

        console.Browser.FindElement(By.Id("check")).Click();

        Assert.Contains("<img id=injected src=x>", console.Shown("decision-error"), StringComparison.Ordinal);
        Assert.Empty(console.Browser.FindElements(By.Id("injected")));
    }

    [Fact]
    public void NarrowWindow_KeepsEveryFieldVisible()
    {
        console.OpenSignedIn(console.AdminKey);
        console.Browser.Manage().Window.Size = new System.Drawing.Size(360, 800);

        var width = Convert.ToInt64(((IJavaScriptExecutor)console.Browser).ExecuteScript("return document.documentElement.scrollWidth"), System.Globalization.CultureInfo.InvariantCulture);
        var viewport = Convert.ToInt64(((IJavaScriptExecutor)console.Browser).ExecuteScript("return window.innerWidth"), System.Globalization.CultureInfo.InvariantCulture);
        console.Screenshot("decisions-narrow");

        Assert.True(width <= viewport, $"the page is {width}px wide in a {viewport}px window: it scrolls sideways");
        Assert.All(DecisionControls, id => Assert.True(console.Browser.FindElement(By.Id(id)).Displayed, id));
    }

    [Theory]
    [InlineData("user:olivia", Decision.Allowed)]
    [InlineData("user:victor", Decision.Denied)]
    public async Task AManagementCheck_AnswersAsCheckWithAContext(string caller, Decision expected)
    {
        var overGrpc = await console.Server.Authorization.CheckAsync(new CheckRequest
        {
            Subject = Subject(caller), Action = "grant", Resource = new ObjectRef { Type = "project", Id = "storefront" },
            Context = new CheckContext { TargetRole = "developer", TargetSubject = Subject("user:bob") },
        });
        console.OpenSignedIn(console.CheckKey);
        console.Ask(caller, "grant", "project:storefront");
        console.Fill(("check-target-role", "developer"), ("check-target-subject", "user:bob"));

        console.Browser.FindElement(By.Id("check")).Click();

        // The organization owner may grant a project role; a viewer may not.
        Assert.Equal(expected, overGrpc.Decision);
        Assert.Equal($"{(expected == Decision.Allowed ? "ALLOWED" : "DENIED")} at revision {overGrpc.Revision}", console.Shown("decision"));
    }

    [Fact]
    public async Task Lookups_StreamTheSameResultsAsGrpc()
    {
        var grpc = console.Server.Authorization;
        var resources = new List<string>();
        using (var call = grpc.LookupResources(new LookupResourcesRequest { Subject = Subject("user:olivia"), Action = "view", ResourceType = "project", Limit = 100 }))
        {
            await foreach (var answer in call.ResponseStream.ReadAllAsync())
            {
                resources.Add($"{answer.Resource.Type}:{answer.Resource.Id}");
            }
        }

        var subjects = new List<string>();
        using (var call = grpc.LookupSubjects(new LookupSubjectsRequest { Resource = new ObjectRef { Type = "project", Id = "storefront" }, Action = "view", SubjectType = "user", Limit = 100 }))
        {
            await foreach (var answer in call.ResponseStream.ReadAllAsync())
            {
                subjects.Add($"{answer.Subject.Object.Type}:{answer.Subject.Object.Id}");
            }
        }

        Assert.True(resources.Count >= 2 && subjects.Count >= 2, "the default model should give several of each");
        console.OpenSignedIn(console.CheckKey);
        console.Ask("user:olivia", "view", "project:storefront");
        console.Fill(("lookup-type", "project"));

        console.Browser.FindElement(By.Id("lookup-resources")).Click();
        var shownResources = console.Wait(driver => driver.FindElement(By.Id("lookup-status")).Displayed ? LookupResults() : null);
        console.Screenshot("decisions-lookup", showing: "#lookup-results");
        console.Fill(("lookup-type", "user"));
        console.Browser.FindElement(By.Id("lookup-subjects")).Click();
        var shownSubjects = console.Wait(driver => driver.FindElement(By.Id("lookup-status")).Text.Contains("subject", StringComparison.Ordinal) ? LookupResults() : null);

        Assert.Equal(resources, shownResources);
        Assert.Equal(subjects, shownSubjects);
        Assert.Empty(console.BrowserErrors());
    }

    private List<string> LookupResults() =>
        [.. console.Browser.FindElements(By.CssSelector("#lookup-results code")).Select(code => code.Text)];

    private static CheckRequest Request(string subject, string action, string type, string id) =>
        new() { Subject = Subject(subject), Action = action, Resource = new ObjectRef { Type = type, Id = id } };

    private static SubjectRef Subject(string text)
    {
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        return new SubjectRef { Object = new ObjectRef { Type = text[..colon], Id = text[(colon + 1)..] } };
    }

    private static IEnumerable<ExplainStep> Flatten(ExplainStep step) => step.Children.SelectMany(Flatten).Prepend(step);
}
