using Driver;

// The portable benchmark's driver (bench/portable/run.sh): each system through the phases, one
// after the other on the same PostgreSQL, then the report. Exit 1 on a protocol violation or a lost job of ours.
DriverOptions options;
try
{
    options = DriverOptions.Parse(args);
}
catch (FormatException e)
{
    await Console.Error.WriteLineAsync(e.Message);
    return 2;
}

var ownerConnection = Environment.GetEnvironmentVariable("JOBS_OWNER_CONNECTION")
    ?? throw new InvalidOperationException("JOBS_OWNER_CONNECTION is not set; run the driver through bench/portable/run.sh, which starts PostgreSQL and sets it.");
var portableDir = Environment.GetEnvironmentVariable("PORTABLE_DIR")
    ?? throw new InvalidOperationException("PORTABLE_DIR is not set; run the driver through bench/portable/run.sh.");
var resultsDir = Directory.CreateDirectory(Environment.GetEnvironmentVariable("BENCH_RESULTS_DIR") ?? Path.Combine(portableDir, "..", "results")).FullName;
var stamp = $"{DateTime.UtcNow:yyyyMMdd-HHmmss}";
var workDir = Directory.CreateDirectory(Path.Combine(resultsDir, "tmp", $"portable-{stamp}")).FullName;
Console.WriteLine($"[portable] adapter logs (stderr) in {workDir}");

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
var results = new List<SystemResult>();
foreach (var name in options.Systems)
{
    results.Add(await new SystemRun(SystemUnderTest.Load(portableDir, name), options, ownerConnection, workDir).RunAsync(stop.Token));
}

var command = $"bench/portable/run.sh {string.Join(' ', args)}".Trim();
var markdown = Report.Markdown(options, results, command);
await File.WriteAllTextAsync(Path.Combine(resultsDir, $"portable-{stamp}.md"), markdown);
await File.WriteAllTextAsync(Path.Combine(resultsDir, $"portable-{stamp}.json"), Report.Json(options, results));
Console.WriteLine();
Console.WriteLine(markdown);
Console.WriteLine($"[portable] report: {Path.Combine(resultsDir, $"portable-{stamp}.md")} (and .json)");

var violations = results.Sum(r => r.Violations.Count);
var lostOfOurs = results.Where(r => r.System == "jobengine").Sum(r => r.Lost);
if (violations > 0 || lostOfOurs != 0)
{
    await Console.Error.WriteLineAsync($"[portable] FAILED: {violations} protocol violations, {lostOfOurs} jobs of ours lost.");
    return 1;
}

return 0;
