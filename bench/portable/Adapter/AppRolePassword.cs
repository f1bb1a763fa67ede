using System.Security.Cryptography;

namespace Adapter;

/// <summary>
/// Why it exists: our services connect as the least-privileged role <c>jobs_app</c>, which the
/// Migrator creates with a password from configuration (<c>Migrator__AppRolePassword</c>). A
/// harness only hands a database URL, so when the environment names no password one is generated
/// once and kept in the adapter's state folder, where every replica on the machine finds it.
/// </summary>
internal static class AppRolePassword
{
    /// <summary>The role the Migrator grants row access to and the adapter's engine connects as.</summary>
    public const string Role = "jobs_app";

    public static string Resolve(Func<string, string?> environment, string stateDirectory)
    {
        if (environment("Migrator__AppRolePassword") is { Length: > 0 } configured)
        {
            return configured;
        }

        var path = Path.Combine(stateDirectory, "app-role-password");
        if (!File.Exists(path))
        {
            Directory.CreateDirectory(stateDirectory);
            var candidate = Path.Combine(stateDirectory, $"app-role-password.{Environment.ProcessId}");
            File.WriteAllText(candidate, Convert.ToHexString(RandomNumberGenerator.GetBytes(24)));
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(candidate, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }

            try
            {
                File.Move(candidate, path, overwrite: false);
            }
            catch (IOException)
            {
                // Another replica won the race: its password is the one.
                File.Delete(candidate);
            }
        }

        return File.ReadAllText(path).Trim();
    }
}
