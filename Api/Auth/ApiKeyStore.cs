using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace Api.Auth;

/// <summary>
/// Finds which configured key a presented key is. Only SHA-256 hashes are configured, and every
/// configured hash is compared in constant time, so neither the configuration nor the response
/// time tells how close a guess came.
/// </summary>
public sealed class ApiKeyStore(IOptionsMonitor<ApiOptions> options)
{
    /// <summary>The name and scope of the key, or null when it matches none.</summary>
    public (string Name, string Scope)? Find(string presentedKey)
    {
        var presented = SHA256.HashData(Encoding.UTF8.GetBytes(presentedKey));
        (string, string)? found = null;
        foreach (var (name, key) in options.CurrentValue.Keys)
        {
            var configured = Convert.FromHexString(key.Hash);
            if (CryptographicOperations.FixedTimeEquals(presented, configured))
            {
                found = (name, key.Scope);
            }
        }

        return found;
    }

    /// <summary>What is wrong with the configured keys, or null; checked at start-up.</summary>
    public static string? Validate(ApiOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        foreach (var (name, key) in options.Keys)
        {
            if (key.Hash.Length != 64 || !key.Hash.All(c => char.IsAsciiDigit(c) || c is >= 'a' and <= 'f'))
            {
                return $"Api:Keys:{name}:Hash must be the lowercase hex SHA-256 of the key (64 characters).";
            }

            if (key.Scope is not (ApiScopes.Admin or ApiScopes.Producer))
            {
                return $"Api:Keys:{name}:Scope must be '{ApiScopes.Admin}' or '{ApiScopes.Producer}'.";
            }
        }

        return null;
    }
}
