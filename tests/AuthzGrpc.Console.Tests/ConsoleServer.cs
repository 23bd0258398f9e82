using System.Drawing;
using AuthzGrpc.Testing;
using AuthzGrpc.V1;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using OpenQA.Selenium.Support.UI;

namespace AuthzGrpc.Console.Tests;

/// <summary>
/// A real server process with its console on (<c>Authz:ConsoleUrl</c> on a free loopback port) and one headless
/// Chromium (Debian's, through Debian's chromedriver) shared by a test class, plus a check-only key created over gRPC.
/// Each test starts from a fresh tab state with <see cref="OpenSignedOut"/>.
/// </summary>
public sealed class ConsoleServer : IAsyncLifetime
{
    private const string Chromium = "/usr/bin/chromium";
    private const string ChromeDriver = "/usr/bin/chromedriver";

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
        ManagementKey = (await new ApiKeyService.ApiKeyServiceClient(Server.Channel).CreateApiKeyAsync(new CreateApiKeyRequest
        {
            Subject = new SubjectRef { Object = new ObjectRef { Type = "user", Id = "olivia" } },
            Kind = KeyKind.Management,
            Description = "console tests",
        })).Key;
    }

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

    /// <summary>Opens the console with nothing stored for the tab (signed out), at the sign-in page.</summary>
    public void OpenSignedOut()
    {
        Browser.Manage().Window.Size = new Size(1200, 900);
        Browser.Navigate().GoToUrl(ConsoleAddress);
        ((IJavaScriptExecutor)Browser).ExecuteScript("sessionStorage.clear()");
        Browser.Navigate().GoToUrl(ConsoleAddress);
        Browser.Navigate().Refresh();
        Wait(driver => driver.FindElement(By.Id("api-key")).Displayed);
    }

    /// <summary>Signs in with <paramref name="key"/> through the form and waits for the identity line.</summary>
    public string SignIn(string key)
    {
        OpenSignedOut();
        Browser.FindElement(By.Id("api-key")).SendKeys(key);
        Browser.FindElement(By.Id("sign-in")).Click();
        return Wait(driver => driver.FindElement(By.Id("identity")) is { Displayed: true, Text: { Length: > 0 } text } ? text : null)!;
    }

    /// <summary>Fills the Decisions page's form (the page must be shown).</summary>
    public void Ask(string subject, string action, string resource)
    {
        foreach (var (id, value) in new[] { ("check-subject", subject), ("check-action", action), ("check-resource", resource) })
        {
            var input = Browser.FindElement(By.Id(id));
            input.Clear();
            input.SendKeys(value);
        }
    }

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

    /// <summary>Writes a screenshot of the page as it is to <c>docs/console/{name}.png</c> (the README shows them).</summary>
    public void Screenshot(string name)
    {
        var folder = Path.Combine(Repository.Root, "docs", "console");
        Directory.CreateDirectory(folder);
        Browser.GetScreenshot().SaveAsFile(Path.Combine(folder, name + ".png"));
    }

    /// <summary>The browser's console messages at SEVERE level since the last call (CSP violations and script errors).</summary>
    public IReadOnlyList<string> BrowserErrors() =>
        Browser.Manage().Logs.GetLog(LogType.Browser).Where(entry => entry.Level == LogLevel.Severe).Select(entry => entry.Message).ToList();
}
