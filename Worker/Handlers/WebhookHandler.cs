using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using JobEngine.Running;
using Microsoft.Extensions.Options;

namespace Worker.Handlers;

/// <summary>Settings of webhook delivery, from the <c>Webhooks</c> configuration section.</summary>
public sealed class WebhookOptions
{
    /// <summary>Key of the HMAC-SHA256 signature; deliveries fail while it is not set.</summary>
    public string? SigningSecret { get; set; }

    /// <summary>Time one delivery may take, response included.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Most bytes of a response that are read; the rest is ignored.</summary>
    public int MaxResponseBytes { get; set; } = 64 * 1024;

    /// <summary>Allow targets on link-local and cloud metadata addresses (off: those are the classic SSRF targets).</summary>
    public bool AllowLinkLocal { get; set; }
}

/// <summary>Arguments of a <c>webhook</c> job.</summary>
/// <param name="Url">An absolute http or https URL.</param>
/// <param name="Payload">The JSON body to POST.</param>
public sealed record WebhookArgs(Uri Url, JsonElement Payload);

/// <summary>
/// Delivers a webhook: POSTs the payload as JSON with <c>X-Webhook-Timestamp</c> and
/// <c>X-Webhook-Signature: sha256=HEX</c>, the HMAC-SHA256 of <c>timestamp.body</c> under the
/// signing secret. A 2xx answer completes the job; anything else, a redirect included (never
/// followed), fails the attempt and the job retries with backoff.
/// </summary>
public sealed class WebhookHandler(IHttpClientFactory httpClients, IOptions<WebhookOptions> options, TimeProvider time) : IJobHandler<WebhookArgs>
{
    /// <summary>The named HttpClient deliveries use (no redirects, no hidden retries, SSRF guard on connect).</summary>
    public const string HttpClientName = "webhooks";

    /// <inheritdoc />
    public async Task HandleAsync(JobContext job, WebhookArgs args, CancellationToken cancellationToken)
    {
        if (!args.Url.IsAbsoluteUri || args.Url.Scheme is not ("http" or "https"))
        {
            throw new JobArgsException($"Webhook url '{args.Url}' is not an absolute http or https URL.");
        }

        var secret = options.Value.SigningSecret;
        if (string.IsNullOrEmpty(secret))
        {
            throw new InvalidOperationException("Webhooks:SigningSecret is not configured; webhooks are not delivered unsigned.");
        }

        var body = JsonSerializer.SerializeToUtf8Bytes(args.Payload);
        var timestamp = time.GetUtcNow().ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        using var request = new HttpRequestMessage(HttpMethod.Post, args.Url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new("application/json");
        request.Headers.Add("X-Webhook-Id", job.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        request.Headers.Add("X-Webhook-Timestamp", timestamp);
        request.Headers.Add("X-Webhook-Signature", "sha256=" + Sign(secret, timestamp, body));

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.Value.Timeout);
        var client = httpClients.CreateClient(HttpClientName);
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        var excerpt = await ReadCappedAsync(response, options.Value.MaxResponseBytes, timeout.Token);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"Webhook to {args.Url.Host} answered {(int)response.StatusCode}: {excerpt}", null, response.StatusCode);
        }
    }

    /// <summary>The hex HMAC-SHA256 of <c>timestamp.body</c>: what a receiver recomputes to verify a delivery.</summary>
    public static string Sign(string secret, string timestamp, byte[] body)
    {
        ArgumentNullException.ThrowIfNull(secret);
        ArgumentNullException.ThrowIfNull(body);
        var message = Encoding.UTF8.GetBytes(timestamp + ".").Concat(body).ToArray();
        return Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), message));
    }

    /// <summary>
    /// The connection step of the delivery client: resolves the host and refuses link-local and
    /// metadata addresses before connecting, so a DNS name cannot smuggle one in.
    /// </summary>
    public static SocketsHttpHandler CreateGuardedHandler(IOptions<WebhookOptions> options) => new()
    {
        AllowAutoRedirect = false,
        ConnectCallback = async (context, cancellationToken) =>
        {
            var addresses = await Dns.GetHostAddressesAsync(context.DnsEndPoint.Host, cancellationToken);
            var allowed = options.Value.AllowLinkLocal ? addresses : [.. addresses.Where(a => !IsLinkLocalOrMetadata(a))];
            if (allowed.Length == 0)
            {
                throw new HttpRequestException($"Webhook host '{context.DnsEndPoint.Host}' resolves only to link-local or metadata addresses, which are refused (Webhooks:AllowLinkLocal).");
            }

            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(allowed, context.DnsEndPoint.Port, cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    };

    /// <summary>True for 169.254.0.0/16, fe80::/10, and the cloud metadata addresses.</summary>
    public static bool IsLinkLocalOrMetadata(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            return address.IsIPv6LinkLocal || address.Equals(IPAddress.Parse("fd00:ec2::254"));
        }

        var bytes = address.GetAddressBytes();
        return (bytes[0] == 169 && bytes[1] == 254) || address.Equals(IPAddress.Parse("100.100.100.200"));
    }

    // Reads at most maxBytes of the answer (a hostile target cannot make the worker read
    // forever) and keeps the start of it for the error message.
    private static async Task<string> ReadCappedAsync(HttpResponseMessage response, int maxBytes, CancellationToken cancellationToken)
    {
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        var buffer = new byte[maxBytes];
        var read = 0;
        int n;
        while (read < maxBytes && (n = await stream.ReadAsync(buffer.AsMemory(read), cancellationToken)) > 0)
        {
            read += n;
        }

        return Encoding.UTF8.GetString(buffer, 0, Math.Min(read, 512));
    }
}
