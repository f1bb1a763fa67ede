using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace Api.Auth;

/// <summary>
/// Counts failed authentications per client IP in a fixed window. Past the limit, that IP gets 429
/// for every authenticated request until the window ends, valid key or not, so guessing keys is
/// as slow as the limit allows.
/// </summary>
public sealed class FailedAuthenticationLimiter : IDisposable
{
    private readonly PartitionedRateLimiter<string> _limiter;

    /// <summary>A limiter with <see cref="ApiOptions.AuthFailureLimit"/> failures per <see cref="ApiOptions.AuthFailureWindow"/>.</summary>
    public FailedAuthenticationLimiter(IOptions<ApiOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var settings = options.Value;
        Window = settings.AuthFailureWindow;
        _limiter = PartitionedRateLimiter.Create<string, string>(ip => RateLimitPartition.GetFixedWindowLimiter(ip, _ =>
            new FixedWindowRateLimiterOptions { PermitLimit = settings.AuthFailureLimit, Window = settings.AuthFailureWindow, QueueLimit = 0 }));
    }

    /// <summary>How long a locked-out client waits at most.</summary>
    public TimeSpan Window { get; }

    /// <summary>True when <paramref name="ip"/> used up its failures for this window.</summary>
    public bool IsLockedOut(string ip) => _limiter.GetStatistics(ip)?.CurrentAvailablePermits == 0;

    /// <summary>Counts one failure; false when it was one too many.</summary>
    public bool RecordFailure(string ip)
    {
        using var lease = _limiter.AttemptAcquire(ip);
        return lease.IsAcquired;
    }

    /// <inheritdoc />
    public void Dispose() => _limiter.Dispose();
}
