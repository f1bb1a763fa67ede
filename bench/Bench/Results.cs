using System.Text.Json;
using System.Text.Json.Serialization;

namespace Bench;

/// <summary>One figure: <c>{"scenario","contender","metric","value","unit"}</c>, as latest.json holds them.</summary>
internal sealed record ResultEntry(string Scenario, string Contender, string Metric, double Value, string Unit);

/// <summary>
/// Why it exists: every scenario adds its figures here, with each contender's settings and any
/// note on how a figure was made; latest.json and the Markdown report are both written from it.
/// </summary>
internal sealed class Results
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public List<ResultEntry> Entries { get; } = [];

    public SortedDictionary<string, string> Settings { get; } = new(StringComparer.Ordinal);

    public List<string> Notes { get; } = [];

    public List<string> Profile { get; } = [];

    public void Add(string scenario, string contender, string metric, double value, string unit)
    {
        var entry = new ResultEntry(scenario, contender, metric, Math.Round(value, 3), unit);
        Entries.Add(entry);
        Console.WriteLine($"[bench] {scenario,-12} {contender,-10} {metric,-34} {entry.Value,12:0.###} {unit}");
    }

    public double? Find(string scenario, string contender, string metric) =>
        Entries.LastOrDefault(e => e.Scenario == scenario && e.Contender == contender && e.Metric == metric)?.Value;

    public async Task WriteJsonAsync(string path, object machine, CancellationToken cancellationToken)
    {
        await using var file = File.Create(path);
        await JsonSerializer.SerializeAsync(file, new { machine, settings = Settings, results = Entries }, Json, cancellationToken).ConfigureAwait(false);
    }
}
