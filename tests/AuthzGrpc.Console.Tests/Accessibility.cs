using System.Text.Json;
using Deque.AxeCore.Commons;
using OpenQA.Selenium;

namespace AuthzGrpc.Console.Tests;

/// <summary>
/// axe-core, Deque's accessibility engine (the copy the Deque.AxeCore.Commons package carries), run in the page under
/// test: injected by the test through WebDriver, which the page's Content-Security-Policy does not govern, so the
/// console loads nothing of it.
/// </summary>
public static class Accessibility
{
    private static readonly Lazy<string> Engine = new(() => new BundledAxeScriptProvider().GetScript());

    /// <summary>
    /// The serious and critical violations axe finds in the page as it is shown (WCAG 2.x A and AA rules and axe's
    /// best practices), each as <c>rule (impact): help — the elements</c>; empty when there are none.
    /// </summary>
    public static IReadOnlyList<string> SeriousViolations(IWebDriver browser)
    {
        var script = (IJavaScriptExecutor)browser;
        if (script.ExecuteScript("return typeof window.axe") is not "object")
        {
            script.ExecuteScript(Engine.Value);
        }

        var found = (string)((IJavaScriptExecutor)browser).ExecuteAsyncScript(
            """
            const done = arguments[arguments.length - 1];
            axe.run(document, { resultTypes: ['violations'] })
                .then(result => done(JSON.stringify(result.violations
                    .filter(v => v.impact === 'serious' || v.impact === 'critical')
                    .map(v => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map(n => n.target.join(' ')).join(', ')}`))))
                .catch(error => done(JSON.stringify([`axe failed: ${error}`])));
            """)!;
        return JsonSerializer.Deserialize<List<string>>(found)!;
    }
}
