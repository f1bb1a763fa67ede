using Microsoft.Playwright;

namespace AppHost.Tests;

/// <summary>The Aspire dashboard in Debian's Chromium, driven by Playwright, with screenshots kept for a person to open.</summary>
public sealed class DashboardPage : IAsyncDisposable
{
    private readonly IPlaywright _playwright;
    private readonly IBrowser _browser;

    private DashboardPage(IPlaywright playwright, IBrowser browser, IPage page)
    {
        _playwright = playwright;
        _browser = browser;
        Page = page;
    }

    public IPage Page { get; }

    /// <summary>Where the screenshots go: .stack/screenshots in the checkout (git-ignored).</summary>
    public static string ScreenshotDirectory
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (!File.Exists(Path.Combine(dir.FullName, "Aspire.sln")))
            {
                dir = dir.Parent ?? throw new InvalidOperationException("Aspire.sln not found above " + AppContext.BaseDirectory);
            }

            return Directory.CreateDirectory(Path.Combine(dir.FullName, ".stack", "screenshots")).FullName;
        }
    }

    /// <summary>Opens the dashboard through its login URL, as the AppHost prints it.</summary>
    public static async Task<DashboardPage> LogInAsync(Uri dashboard, string token)
    {
        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = "/usr/bin/chromium",
            Headless = true,
            Args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
        var page = new DashboardPage(playwright, browser, await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1600, Height = 1000 } }));
        try
        {
            page.Page.SetDefaultTimeout(60_000);
            await page.Page.GotoAsync(new Uri(dashboard, $"/login?t={token}").ToString());
            return page;
        }
        catch
        {
            await page.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Waits until <paramref name="text"/> shows. The dashboard's Blazor circuit can fail on a loaded
    /// machine before the page fills ("An unhandled error has occurred. Reload", no resources; seen once
    /// in many runs): then the page is reloaded once, as a person would, its screenshot kept, and the
    /// wait starts again. A second failure fails the wait.
    /// </summary>
    public async Task WaitForTextAsync(string text, Action<string> log)
    {
        var wanted = Page.GetByText(text).Filter(new() { Visible = true });
        var circuitError = Page.GetByText("An unhandled error has occurred").Filter(new() { Visible = true });
        await wanted.Or(circuitError).First.WaitForAsync();
        if (await circuitError.CountAsync() > 0)
        {
            log("the dashboard showed its unhandled-error bar; reloading once. screenshot: " + await ScreenshotAsync("dashboard-circuit-error"));
            await Page.ReloadAsync();
            await wanted.First.WaitForAsync();
        }
    }

    /// <summary>Saves a full-page screenshot and returns its path.</summary>
    public async Task<string> ScreenshotAsync(string name)
    {
        var path = Path.Combine(ScreenshotDirectory, name + ".png");
        await Page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
        return path;
    }

    public async ValueTask DisposeAsync()
    {
        await _browser.DisposeAsync();
        _playwright.Dispose();
    }
}
