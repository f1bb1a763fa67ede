using System.Globalization;

namespace Adapter;

/// <summary>How the producer is paced: by the harness's <c>ENQUEUE n</c> lines on stdin, or by the adapter itself.</summary>
internal enum ProducerPacing
{
    Harness,
    Adapter,
}

/// <summary>How much the producer offers: a fixed rate, or enough to hold the queue at a target depth.</summary>
internal enum ProducerMode
{
    Fixed,
    DepthTarget,
}

/// <summary>
/// Why it exists: the harness configures an adapter through environment variables only; this reads
/// them once, with the protocol's defaults, and names the variable and what was expected when one
/// is wrong, so a bad launch fails at start with a clear message on stderr.
/// </summary>
internal sealed record AdapterSettings
{
    public required DatabaseUrl Database { get; init; }
    public required string Scenario { get; init; }
    public required ProducerMode Mode { get; init; }
    public required ProducerPacing Pacing { get; init; }
    public required int ProducerRate { get; init; }
    public required int TargetDepth { get; init; }
    public required int WorkerCount { get; init; }
    public required int PayloadBytes { get; init; }
    public required int WorkMs { get; init; }
    public required int SampleEverySeconds { get; init; }
    public required int InstanceId { get; init; }
    public string? RateControlFile { get; init; }

    /// <summary>Where the generated password of the services' role is kept when the environment gives none.</summary>
    public required string StateDirectory { get; init; }

    /// <summary>The Migrator the adapter runs at start, as a user would (<c>Migrator apply</c>).</summary>
    public required string MigratorDll { get; init; }

    /// <summary>Reads the settings; <paramref name="get"/> is the environment.</summary>
    /// <exception cref="FormatException">A variable is missing or malformed; the message says which and what was expected.</exception>
    public static AdapterSettings Read(Func<string, string?> get)
    {
        var scenario = get("SCENARIO") ?? "long_horizon";
        if (scenario != "long_horizon")
        {
            throw new FormatException($"SCENARIO is '{scenario}'; this adapter implements long_horizon only.");
        }

        return new()
        {
            Database = DatabaseUrl.Parse(get("DATABASE_URL") ?? throw new FormatException("DATABASE_URL is not set; expected postgres://user:password@host:port/database.")),
            Scenario = scenario,
            Mode = (get("PRODUCER_MODE") ?? "fixed") switch
            {
                "fixed" => ProducerMode.Fixed,
                "depth-target" => ProducerMode.DepthTarget,
                var other => throw new FormatException($"PRODUCER_MODE is '{other}'; expected fixed or depth-target."),
            },
            Pacing = (get("PRODUCER_PACING") ?? "harness") switch
            {
                "harness" or "" => ProducerPacing.Harness,
                "adapter" => ProducerPacing.Adapter,
                var other => throw new FormatException($"PRODUCER_PACING is '{other}'; expected harness (ENQUEUE lines on stdin, the default) or adapter."),
            },
            ProducerRate = Int(get, "PRODUCER_RATE", 800, min: 0),
            TargetDepth = Int(get, "TARGET_DEPTH", 1000, min: 0),
            WorkerCount = Int(get, "WORKER_COUNT", 32, min: 1),
            PayloadBytes = Int(get, "JOB_PAYLOAD_BYTES", 256, min: 0),
            WorkMs = Int(get, "JOB_WORK_MS", 1, min: 0),
            SampleEverySeconds = Int(get, "SAMPLE_EVERY_S", 5, min: 1),
            InstanceId = Int(get, "BENCH_INSTANCE_ID", 0, min: 0),
            RateControlFile = get("PRODUCER_RATE_CONTROL_FILE") is { Length: > 0 } file ? file : null,
            StateDirectory = get("ADAPTER_STATE_DIR") ?? Path.Combine(AppContext.BaseDirectory, "state"),
            MigratorDll = get("ADAPTER_MIGRATOR_DLL") ?? throw new FormatException("ADAPTER_MIGRATOR_DLL is not set; start the adapter through bench/portable/adapter, which sets it."),
        };
    }

    private static int Int(Func<string, string?> get, string name, int fallback, int min)
    {
        var raw = get(name);
        if (string.IsNullOrEmpty(raw))
        {
            return fallback;
        }

        return int.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value >= min
            ? value
            : throw new FormatException($"{name} is '{raw}'; expected an integer of at least {min}.");
    }
}
