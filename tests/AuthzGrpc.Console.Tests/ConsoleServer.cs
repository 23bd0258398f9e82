using System.Drawing;
using AuthzGrpc.Testing;
using AuthzGrpc.V1;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using OpenQA.Selenium.Support.UI;

namespace AuthzGrpc.Console.Tests;

/// <summary>
/// Every class of the console's tests runs in this one collection: one server process and one Chromium for them all
/// (starting either costs seconds of the suite's two cores). Its tests therefore run one after another; a test that
/// writes state uses objects and subjects of its own (the model too: see <see cref="ConsoleServer.AddedSchema"/>).
/// </summary>
[CollectionDefinition(Name)]
public sealed class ConsoleCollection : ICollectionFixture<ConsoleServer>
{
    /// <summary>The collection's name, for <c>[Collection(ConsoleCollection.Name)]</c>.</summary>
    public const string Name = "console";
}

/// <summary>
/// A real server process with its console on (<c>Authz:ConsoleUrl</c> on a free loopback port) and one headless
/// Chromium (Debian's, through Debian's chromedriver) shared by the <see cref="ConsoleCollection"/>, plus keys of
/// <c>user:olivia</c> created over gRPC. The model is the default one plus <see cref="AddedSchema"/>. Each test starts
/// from a fresh tab state with <see cref="OpenSignedOut"/> or <see cref="OpenSignedIn"/>.
/// </summary>
public sealed class ConsoleServer : IAsyncLifetime
{
    /// <summary>
    /// Added to the default model at start: a caveat and a type whose viewers may hold it, for the conditional
    /// decisions (<c>console_report:q3#viewer@user:carla</c> is written with part of the caveat's context); and a type
    /// of the playground's Apply test's own (<c>console_scratch:old#viewer@user:sam</c> is written), which that test
    /// replaces, forcing the removal of its relationship. No other test uses either type, so each test meets the model
    /// it needs whatever the order.
    /// </summary>
    public const string AddedSchema = """

        caveat console_ip_allowed(user_ip ipaddress, allowed_range string) {
            user_ip.in_cidr(allowed_range)
        }

        definition console_report {
            relation viewer: user | user with console_ip_allowed
            permission view = viewer
        }

        definition console_scratch {
            relation viewer: user
        }
        """;

    private const string Chromium = "/usr/bin/chromium";
    private const string ChromeDriver = "/usr/bin/chromedriver";
    private static readonly Size WindowSize = new(1200, 900);

    private ServerProcess? _server;
    private ChromeDriver? _browser;

    /// <summary>The server process.</summary>
    public ServerProcess Server => _server ?? throw new InvalidOperationException("not started");

    /// <summary>The browser, one tab.</summary>
    public ChromeDriver Browser => _browser ??= StartBrowser();

    /// <summary>The console's address, e.g. <c>http://127.0.0.1:41234/</c>.</summary>
    public Uri ConsoleAddress { get; private set; } = null!;

    /// <summary>The bootstrap admin key (subject <c>user:admin</c>).</summary>
    public string AdminKey => Server.Key ?? throw new InvalidOperationException("the server wrote no bootstrap key");

    /// <summary>A check-only key of <c>user:olivia</c>, created over gRPC.</summary>
    public string CheckKey { get; private set; } = null!;

    /// <summary>Its key id.</summary>
    public string CheckKeyId { get; private set; } = null!;

    /// <summary>A management key of <c>user:olivia</c> (the default model's organization owner), created over gRPC.</summary>
    public string ManagementKey { get; private set; } = null!;

    /// <summary>
    /// An admin key of <c>user:olivia</c>: admin-only calls (the playground's ValidateModel) and management calls
    /// judged for olivia, in one sign-in.
    /// </summary>
    public string OliviaAdminKey { get; private set; } = null!;

    /// <inheritdoc/>
    public async Task InitializeAsync()
    {
        var port = ServerProcess.FreeLoopbackPort();
        ConsoleAddress = new Uri($"http://127.0.0.1:{port}/");
        _server = await ServerProcess.StartAsync($"--Authz:ConsoleUrl=http://127.0.0.1:{port}");
        var created = await new ApiKeyService.ApiKeyServiceClient(Server.Channel).CreateApiKeyAsync(new CreateApiKeyRequest
        {
            Subject = new SubjectRef { Object = new ObjectRef { Type = "user", Id = "olivia" } },
            Kind = KeyKind.Check,
            Description = "console tests",
        });
        CheckKey = created.Key;
        CheckKeyId = created.ApiKey.KeyId;
        ManagementKey = await KeyAsync("olivia", KeyKind.Management);
        OliviaAdminKey = await KeyAsync("olivia", KeyKind.Admin);
        var schemas = new SchemaService.SchemaServiceClient(Server.Channel);
        var model = await schemas.ReadSchemaAsync(new ReadSchemaRequest());
        await schemas.WriteSchemaAsync(new WriteSchemaRequest { Schema = model.Schema + AddedSchema });
        var carla = new Relationship
        {
            Resource = new ObjectRef { Type = "console_report", Id = "q3" },
            Relation = "viewer",
            Subject = new SubjectRef { Object = new ObjectRef { Type = "user", Id = "carla" } },
            OptionalCaveat = new ContextualizedCaveat
            {
                CaveatName = "console_ip_allowed",
                Context = Google.Protobuf.WellKnownTypes.Struct.Parser.ParseJson("""{"allowed_range": "10.20.0.0/16"}"""),
            },
        };
        var sam = new Relationship
        {
            Resource = new ObjectRef { Type = "console_scratch", Id = "old" },
            Relation = "viewer",
            Subject = new SubjectRef { Object = new ObjectRef { Type = "user", Id = "sam" } },
        };
        await new RelationshipService.RelationshipServiceClient(Server.Channel).WriteRelationshipsAsync(new WriteRelationshipsRequest
        {
            Updates =
            {
                new RelationshipUpdate { Operation = Operation.Touch, Relationship = carla },
                new RelationshipUpdate { Operation = Operation.Touch, Relationship = sam },
            },
        });
    }

    /// <summary>A new key of <c>user:{id}</c> of <paramref name="kind"/>, with <paramref name="email"/> when given.</summary>
    public async Task<string> KeyAsync(string id, KeyKind kind, string? email = null) =>
        (await new ApiKeyService.ApiKeyServiceClient(Server.Channel).CreateApiKeyAsync(new CreateApiKeyRequest
        {
            Subject = new SubjectRef { Object = new ObjectRef { Type = "user", Id = id } },
            Kind = kind,
            Email = email ?? string.Empty,
            Description = "console tests",
        })).Key;

    // Started at first use, so a class that needs no browser starts none.
    private static ChromeDriver StartBrowser()
    {
        var options = new ChromeOptions { BinaryLocation = Chromium };
        // --no-sandbox: CI containers run as root, where Chromium's sandbox cannot start.
        options.AddArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1200,900");
        options.SetLoggingPreference(LogType.Browser, LogLevel.All);
        var service = ChromeDriverService.CreateDefaultService(Path.GetDirectoryName(ChromeDriver)!, Path.GetFileName(ChromeDriver));
        service.SuppressInitialDiagnosticInformation = true;
        service.HideCommandPromptWindow = true;
        return new ChromeDriver(service, options, TimeSpan.FromSeconds(60));
    }

    /// <inheritdoc/>
    public async Task DisposeAsync()
    {
        _browser?.Quit();
        _browser?.Dispose();
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    /// <summary>
    /// Opens the console with nothing stored for the tab (signed out), at the sign-in page, in a fresh page: one load,
    /// not a navigation per step.
    /// </summary>
    public void OpenSignedOut()
    {
        Reload("/", null);
        Wait(driver => driver.FindElement(By.Id("api-key")).Displayed);
    }

    /// <summary>Signs in with <paramref name="key"/> through the form, as a person does, and waits for the identity line.</summary>
    public string SignIn(string key)
    {
        OpenSignedOut();
        Browser.FindElement(By.Id("api-key")).SendKeys(key);
        Browser.FindElement(By.Id("sign-in")).Click();
        return Wait(driver => driver.FindElement(By.Id("identity")) is { Displayed: true, Text: { Length: > 0 } text } ? text : null)!;
    }

    /// <summary>
    /// Opens <paramref name="page"/> (<c>decisions</c>, <c>playground</c>, <c>members</c>, <c>audit</c>) in a fresh page
    /// already signed in with <paramref name="key"/>: the key put in the tab's storage, where the sign-in form puts it,
    /// so the page asks WhoAmI as it does after a sign-in. For tests of the pages behind the sign-in (the form itself
    /// is tested through <see cref="SignIn"/>); one page load instead of a load, typing and a click.
    /// </summary>
    public string OpenSignedIn(string key, string page = "decisions")
    {
        Reload("/#" + page, key);
        Wait(driver => driver.FindElement(By.Id("page-" + page)).Displayed);
        return Wait(driver => driver.FindElement(By.Id("identity")) is { Displayed: true, Text: { Length: > 0 } text } ? text : null)!;
    }

    // A fresh page of the console at `path`, with `key` (or nothing) stored for the tab. The tab stays on the console's
    // origin between tests, so this is one reload; only the first visit navigates there.
    private void Reload(string path, string? key)
    {
        if (Browser.Manage().Window.Size != WindowSize)
        {
            Browser.Manage().Window.Size = WindowSize;
        }

        if (!Browser.Url.StartsWith(ConsoleAddress.AbsoluteUri, StringComparison.Ordinal))
        {
            Browser.Navigate().GoToUrl(ConsoleAddress);
        }

        ((IJavaScriptExecutor)Browser).ExecuteScript(
            "sessionStorage.clear(); if (arguments[0] !== null) { sessionStorage.setItem('authz-console-key', arguments[0]); } history.replaceState(null, '', arguments[1]);",
            key, path);
        Browser.Navigate().Refresh();
    }

    /// <summary>
    /// Sets the value of each field by id, in one call to the browser, and fires the events typing fires (input,
    /// change), so the page reacts as to typing. Typing itself is driven key by key where it is what a test is about.
    /// </summary>
    public void Fill(params (string Id, string Value)[] fields)
    {
        var flat = fields.SelectMany(field => new object[] { field.Id, field.Value }).ToArray();
        ((IJavaScriptExecutor)Browser).ExecuteScript(
            """
            for (let i = 0; i < arguments.length; i += 2) {
                const field = document.getElementById(arguments[i]);
                if (field === null) { throw new Error('no #' + arguments[i]); }
                field.value = arguments[i + 1];
                field.dispatchEvent(new Event('input', { bubbles: true }));
                field.dispatchEvent(new Event('change', { bubbles: true }));
            }
            """,
            flat);
    }

    /// <summary>Fills the Decisions page's form (the page must be shown).</summary>
    public void Ask(string subject, string action, string resource) =>
        Fill(("check-subject", subject), ("check-action", action), ("check-resource", resource));

    /// <summary>Waits up to 15 s for <paramref name="condition"/> to give a value other than null or false.</summary>
    public T Wait<T>(Func<IWebDriver, T> condition)
    {
        var wait = new WebDriverWait(Browser, TimeSpan.FromSeconds(15)) { PollingInterval = TimeSpan.FromMilliseconds(50) };
        // The conditions find their elements afresh at each poll; one the page replaced between finding and reading
        // (a list re-rendered by an answer) is simply polled again.
        wait.IgnoreExceptionTypes(typeof(StaleElementReferenceException));
        return wait.Until(condition);
    }

    /// <summary>The text of a message element once it shows something.</summary>
    public string Shown(string id) =>
        Wait(driver => driver.FindElement(By.Id(id)) is { Displayed: true, Text: { Length: > 0 } text } ? text : null)!;

    /// <summary>
    /// Writes a screenshot of the page as it is to <c>docs/console/{name}.png</c> (the README shows them), scrolled
    /// first so that the element <paramref name="showing"/> (a CSS selector) is in the picture when
    /// given: an answer below the form is what the picture is of.
    /// </summary>
    public void Screenshot(string name, string? showing = null)
    {
        if (showing is not null)
        {
            ((IJavaScriptExecutor)Browser).ExecuteScript("document.querySelector(arguments[0]).scrollIntoView({ block: 'nearest' })", showing);
        }

        var folder = Path.Combine(Repository.Root, "docs", "console");
        Directory.CreateDirectory(folder);
        Browser.GetScreenshot().SaveAsFile(Path.Combine(folder, name + ".png"));
    }

    /// <summary>The browser's console messages at SEVERE level since the last call (CSP violations and script errors).</summary>
    public IReadOnlyList<string> BrowserErrors() =>
        Browser.Manage().Logs.GetLog(LogType.Browser).Where(entry => entry.Level == LogLevel.Severe).Select(entry => entry.Message).ToList();
}
