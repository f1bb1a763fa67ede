using System.Globalization;

namespace AppHost.Tests;

/// <summary>What /proc says about the processes of this machine: who inherited a marker, who is whose child.</summary>
public static class ProcessTable
{
    /// <summary>Live processes whose environment holds NAME=value.</summary>
    public static IReadOnlyList<(int Pid, string Command)> WithEnvironment(string name, string value)
    {
        var needle = name + "=" + value;
        return All().Where(p => p.Pid != System.Environment.ProcessId && EnvironmentOf(p.Pid).Contains(needle)).ToList();
    }

    /// <summary>The children of <paramref name="parent"/>.</summary>
    public static IReadOnlyList<(int Pid, string Command)> ChildrenOf(int parent) =>
        All().Where(p => ParentOf(p.Pid) == parent).ToList();

    /// <summary>Whether the process still runs (a zombie does not).</summary>
    public static bool IsAlive(int pid)
    {
        try
        {
            return !File.ReadAllText($"/proc/{pid}/stat").Split(')')[^1].TrimStart().StartsWith('Z');
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static IEnumerable<(int Pid, string Command)> All()
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
            {
                continue;
            }

            string command;
            try
            {
                command = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ').Trim();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue; // Ended while being read.
            }

            if (IsAlive(pid))
            {
                yield return (pid, command);
            }
        }
    }

    private static HashSet<string> EnvironmentOf(int pid)
    {
        try
        {
            return [.. File.ReadAllText($"/proc/{pid}/environ").Split('\0')];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    private static int ParentOf(int pid)
    {
        try
        {
            return int.Parse(File.ReadAllText($"/proc/{pid}/stat").Split(')')[^1].Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return -1;
        }
    }
}
