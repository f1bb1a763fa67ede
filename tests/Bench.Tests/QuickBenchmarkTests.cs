using System.Text.Json;

namespace Bench.Tests;

/// <summary>
/// Why it exists: a benchmark nobody runs rots. This runs <c>./bench/run.sh --quick</c> exactly as
/// a person would (stack, npm peers, Release builds, every scenario small) into a temporary
/// results folder, and checks that it succeeds and that latest.json holds a number for our engine
/// in every scenario. It asserts no timing: speed is judged by the report's ratios, not by tests.
/// </summary>
[Collection(BenchmarkCollection.Name)]
public sealed class QuickBenchmarkTests
{
    private static readonly string[] Scenarios = ["drain", "steady", "scale", "ageing", "ceiling", "workflow", "index-build"];

    [Fact]
    public async Task Quick_mode_runs_every_scenario_and_reports_figures_for_our_engine()
    {
        var results = Directory.CreateTempSubdirectory("bench-quick-");
        try
        {
            var (exitCode, output) = await BenchScript.RunAsync("bench/run.sh", ["--quick"], results.FullName, TimeSpan.FromMinutes(10));
            Assert.True(exitCode == 0, $"./bench/run.sh --quick exited with {exitCode}:\n{output}");

            using var json = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(results.FullName, "latest.json")));
            var entries = json.RootElement.GetProperty("results").EnumerateArray().ToList();
            foreach (var scenario in Scenarios)
            {
                var ours = entries.Where(e => e.GetProperty("scenario").GetString() == scenario && e.GetProperty("contender").GetString() == "ours").ToList();
                Assert.True(ours.Count > 0, $"latest.json has no figure for ours in scenario '{scenario}'");
                Assert.All(ours, e => Assert.Equal(JsonValueKind.Number, e.GetProperty("value").ValueKind));
            }

            var drain = entries.Single(e => e.GetProperty("scenario").GetString() == "drain" && e.GetProperty("contender").GetString() == "ours"
                && e.GetProperty("metric").GetString() == "jobs_per_s");
            Assert.True(drain.GetProperty("value").GetDouble() > 0, "the drain rate of ours is not positive");
            Assert.Contains(entries, e => e.GetProperty("scenario").GetString() == "drain" && e.GetProperty("contender").GetString() == "graphile-worker");
            Assert.NotEmpty(Directory.GetFiles(results.FullName, "quick-*.md"));
        }
        finally
        {
            results.Delete(recursive: true);
        }
    }
}
