using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace Stack.Tests;

/// <summary>
/// An OTLP/HTTP endpoint on loopback (what the Aspire dashboard or a collector is to the services)
/// that keeps every export it receives. Payloads are protobuf, in which strings are plain UTF-8,
/// so a name or a leaked secret can be searched for in the bytes.
/// </summary>
public sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;

    private OtlpReceiver(WebApplication app) => _app = app;

    public LockedList<(string Signal, byte[] Payload)> Exports { get; } = new();

    public string Endpoint => _app.Urls.First();

    public static async Task<OtlpReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var receiver = new OtlpReceiver(app);
        app.MapPost("/v1/{signal}", async (string signal, HttpRequest request) =>
        {
            using var body = new MemoryStream();
            await request.Body.CopyToAsync(body);
            receiver.Exports.Add((signal, body.ToArray()));
            // An empty protobuf message is a valid Export*ServiceResponse: everything accepted.
            return Results.Bytes([], "application/x-protobuf");
        });
        await app.StartAsync();
        return receiver;
    }

    /// <summary>All payloads of one signal (traces, metrics, logs) as one searchable string.</summary>
    public string Text(string signal) =>
        string.Join('\n', Exports.Snapshot().Where(e => e.Signal == signal).Select(e => Encoding.UTF8.GetString(e.Payload)));

    /// <summary>Which of <paramref name="names"/> a signal's payloads hold (for failure messages).</summary>
    public string Which(string signal, IEnumerable<string> names)
    {
        var text = Text(signal);
        return string.Join(", ", names.Select(n => $"{n}: {(text.Contains(n, StringComparison.Ordinal) ? "yes" : "no")}"));
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();
}
