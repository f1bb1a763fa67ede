using System.Globalization;

namespace Driver;

/// <summary>
/// Why it exists: the driver's command line. <c>--duration</c> is the length of the four phases
/// together, per system (the test uses 60 s); the sampling period follows it unless given, so a
/// short run still gets several samples per phase.
/// </summary>
internal sealed record DriverOptions(int DurationSeconds, int Rate, int Workers, int SampleEverySeconds, IReadOnlyList<string> Systems)
{
    public const string Usage = "usage: Driver [--duration SECONDS (default 240)] [--rate JOBS_PER_S (300)] [--workers N (32)] [--sample-every SECONDS] [--systems jobengine,pgboss]";

    public static readonly IReadOnlyList<string> KnownSystems = ["jobengine", "pgboss"];

    /// <exception cref="FormatException">An argument is unknown or out of range; the message says which.</exception>
    public static DriverOptions Parse(IReadOnlyList<string> args)
    {
        int duration = 240, rate = 300, workers = 32;
        int? sampleEvery = null;
        IReadOnlyList<string> systems = KnownSystems;
        for (var i = 0; i < args.Count; i += 2)
        {
            var value = i + 1 < args.Count ? args[i + 1] : throw new FormatException($"{args[i]} needs a value. {Usage}");
            switch (args[i])
            {
                case "--duration": duration = Int(args[i], value, 20); break;
                case "--rate": rate = Int(args[i], value, 1); break;
                case "--workers": workers = Int(args[i], value, 1); break;
                case "--sample-every": sampleEvery = Int(args[i], value, 1); break;
                case "--systems":
                    systems = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                    if (systems.Count == 0 || systems.Any(s => !KnownSystems.Contains(s)))
                    {
                        throw new FormatException($"--systems is '{value}'; expected a comma-separated list of {string.Join(", ", KnownSystems)}.");
                    }

                    break;
                default: throw new FormatException($"Unknown argument '{args[i]}'. {Usage}");
            }
        }

        // Several samples per phase: a phase of 15 s is sampled every 2 s, one of 60 s every 5 s.
        return new(duration, rate, workers, sampleEvery ?? Math.Clamp(duration / 4 / 6, 1, 5), systems);
    }

    private static int Int(string name, string value, int min) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= min
            ? n
            : throw new FormatException($"{name} is '{value}'; expected an integer of at least {min}.");
}
