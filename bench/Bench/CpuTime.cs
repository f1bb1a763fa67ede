namespace Bench;

/// <summary>
/// Why it exists: on two shared cores a drain's rate says little about where the time went; the
/// CPU each side spent per job does, and stays meaningful when other work loads the machine.
/// Read from /proc (utime + stime, in clock ticks of 1/100 s on Linux).
/// </summary>
internal static class CpuTime
{
    private const double TicksPerSecond = 100;

    /// <summary>CPU seconds process <paramref name="pid"/> has used so far, or 0 once it is gone.</summary>
    public static double OfProcess(int pid)
    {
        try
        {
            return Seconds(Fields(File.ReadAllText($"/proc/{pid}/stat")));
        }
        catch (IOException)
        {
            return 0;
        }
    }

    /// <summary>
    /// CPU seconds used so far by the benchmark's PostgreSQL cluster: its postmaster (PG_DATA_DIR's
    /// postmaster.pid, written by scripts/stack.sh) and every process it started, backends and
    /// background workers alike; NaN when the data folder is not known. Another cluster on the
    /// same machine is not counted.
    /// </summary>
    public static double OfPostgres()
    {
        if (Environment.GetEnvironmentVariable("PG_DATA_DIR") is not { Length: > 0 } dataDir)
        {
            return double.NaN;
        }

        var postmaster = int.Parse(File.ReadLines(Path.Combine(dataDir, "postmaster.pid")).First(), System.Globalization.CultureInfo.InvariantCulture);
        var total = 0.0;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            try
            {
                if (int.TryParse(Path.GetFileName(dir), out var pid) && Fields(File.ReadAllText(Path.Combine(dir, "stat"))) is var fields
                    && (pid == postmaster || fields[1] == postmaster.ToString(System.Globalization.CultureInfo.InvariantCulture)))
                {
                    total += Seconds(fields);
                }
            }
            catch (IOException)
            {
                // The process ended while it was read.
            }
        }

        return total;
    }

    // The fields after the command name (which may hold spaces, so split after its closing
    // parenthesis): the state first, then ppid; utime and stime are the 12th and 13th.
    private static string[] Fields(string stat) => stat[(stat.LastIndexOf(')') + 2)..].Split(' ');

    private static double Seconds(string[] fields) =>
        (long.Parse(fields[11], System.Globalization.CultureInfo.InvariantCulture) + long.Parse(fields[12], System.Globalization.CultureInfo.InvariantCulture)) / TicksPerSecond;
}
