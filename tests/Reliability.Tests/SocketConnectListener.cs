using System.Collections.Concurrent;
using System.Diagnostics.Tracing;

namespace Reliability.Tests;

/// <summary>
/// Why it exists: a connect to an address nothing listens on fails the same way whether the
/// webhook guard refused it or the network did. The runtime's <c>System.Net.Sockets</c> event
/// source reports every connect a socket starts, with its address: this records them, so a test
/// can show a connection was really attempted.
/// </summary>
public sealed class SocketConnectListener : EventListener
{
    private const string SocketsSource = "System.Net.Sockets";
    private readonly ConcurrentQueue<string> _started = new();

    /// <summary>The socket addresses (<see cref="System.Net.SocketAddress"/> text) of every connect started since this listener was created.</summary>
    public IReadOnlyCollection<string> Started => _started;

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        ArgumentNullException.ThrowIfNull(eventSource);
        if (eventSource.Name == SocketsSource)
        {
            EnableEvents(eventSource, EventLevel.Informational);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        ArgumentNullException.ThrowIfNull(eventData);
        if (eventData.EventName == "ConnectStart" && eventData.Payload is [string address, ..])
        {
            _started.Enqueue(address);
        }
    }
}
