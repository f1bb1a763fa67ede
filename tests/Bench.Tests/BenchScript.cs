using System.Diagnostics;

namespace Bench.Tests;

/// <summary>Runs a benchmark script of the checkout the tests were built from, as a person would, with its results in a folder of the test's.</summary>
internal static class BenchScript
{
    /// <summary>Runs <paramref name="script"/> (relative to the checkout) with <paramref name="args"/>; returns its exit code and output.</summary>
    /// <exception cref="TimeoutException">It ran past <paramref name="limit"/>; it was killed.</exception>
    public static async Task<(int ExitCode, string Output)> RunAsync(string script, IEnumerable<string> args, string resultsDir, TimeSpan limit)
    {
        var info = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(Root(), script));
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["BENCH_RESULTS_DIR"] = resultsDir;
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(limit);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{script} {string.Join(' ', args)} ran past {limit.TotalMinutes:F0} minutes:\n{await stdout}\n{await stderr}");
        }

        return (process.ExitCode, await stdout + await stderr);
    }

    private static string Root()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "bench", "run.sh")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No bench/run.sh above {AppContext.BaseDirectory}; expected the test to run from the repository's build output.");
    }
}
