using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Migrator;

// The Worker and the Api log in as a role that may only touch rows; the Migrator, the one service
// with DDL rights, creates that role (or sets its password from configuration) before any
// migration grants it rights, so a new database needs no manual step and no password is in code.
internal sealed partial class AppRoleSetup(NpgsqlDataSource dataSource, IOptions<MigratorOptions> options, ILogger logger)
{
    // A role is a row of the cluster-wide catalog: two Migrators of databases on one cluster that
    // set it at the same moment make one of them fail with "tuple concurrently updated", and two that
    // create it at once make one fail with "role already exists" or a duplicate key in pg_authid (the
    // test suites of two assemblies did, and the loser's database was left without its tables). The
    // step is idempotent, so it is taken again (the role then exists and only its password is set),
    // on a new connection: Npgsql closes the one that got the error.
    private const int RoleStatementAttempts = 5;

    public async Task EnsureAsync(CancellationToken cancellationToken)
    {
        var role = options.Value.AppRole;
        if (!RoleName().IsMatch(role))
        {
            throw new MigrationException($"Migrator:AppRole '{role}' is not a plain lower-case role name ([a-z_][a-z0-9_]*).");
        }

        var password = options.Value.AppRolePassword;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await SetRoleAsync(role, password, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (PostgresException e) when (IsConcurrentRoleChange(e) && attempt < RoleStatementAttempts)
            {
                logger.LogInformation("Role {Role} was created or changed by another session at the same moment; setting it again ({Attempt} of {Attempts}).", role, attempt + 1, RoleStatementAttempts);
                await Task.Delay(TimeSpan.FromMilliseconds(50 * attempt), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static bool IsConcurrentRoleChange(PostgresException e) =>
        e.MessageText == "tuple concurrently updated"
        || e.SqlState is PostgresErrorCodes.DuplicateObject or PostgresErrorCodes.UniqueViolation;

    private async Task SetRoleAsync(string role, string? password, CancellationToken cancellationToken)
    {
        var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionScope = connection.ConfigureAwait(false);
        var exists = await MigratorSql.ScalarAsync<bool>(connection, "RoleExists", cancellationToken, role).ConfigureAwait(false);
        if (string.IsNullOrEmpty(password))
        {
            if (!exists)
            {
                throw new MigrationException($"Role {role} does not exist and Migrator:AppRolePassword is not set, so it cannot be created.");
            }
        }
        else
        {
            // The statement carries a SCRAM verifier, never the password: PostgreSQL stores a verifier as
            // given, and a failed statement is written to the server's log with its text.
            var statement = await MigratorSql.ScalarAsync<string>(connection, exists ? "AlterRolePasswordStatement" : "CreateRoleStatement", cancellationToken, role, ScramVerifier(password)).ConfigureAwait(false);
            await using var command = new NpgsqlCommand(statement, connection);
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            logger.LogInformation(exists ? "Role {Role} exists; its password was set from configuration." : "Created login role {Role}.", role);
        }

        var grant = await MigratorSql.ScalarAsync<string>(connection, "GrantConnectStatement", cancellationToken, role).ConfigureAwait(false);
        await using var grantCommand = new NpgsqlCommand(grant, connection);
        await grantCommand.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The SCRAM-SHA-256 verifier PostgreSQL would store for <paramref name="password"/> (RFC 5802 and 7677;
    /// the form psql's \password sends): a fresh salt, 4,096 iterations, StoredKey and ServerKey. NFKC stands in
    /// for SASLprep, which is the same for any password without unusual spaces or control characters.
    /// </summary>
    internal static string ScramVerifier(string password)
    {
        const int iterations = 4096;
        var salt = RandomNumberGenerator.GetBytes(16);
        var salted = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password.Normalize(NormalizationForm.FormKC)), salt, iterations, HashAlgorithmName.SHA256, 32);
        var storedKey = SHA256.HashData(HMACSHA256.HashData(salted, "Client Key"u8));
        var serverKey = HMACSHA256.HashData(salted, "Server Key"u8);
        return $"SCRAM-SHA-256${iterations}:{Convert.ToBase64String(salt)}${Convert.ToBase64String(storedKey)}:{Convert.ToBase64String(serverKey)}";
    }

    [GeneratedRegex("^[a-z_][a-z0-9_]*$")]
    private static partial Regex RoleName();
}
