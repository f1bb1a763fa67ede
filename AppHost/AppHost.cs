// The stack's topology, as Aspire runs it (dashboard, containers) and azd deploys it. ./run.sh
// starts the same processes with the same environment where Aspire is not available.
var builder = DistributedApplication.CreateBuilder(args);

// Secrets are parameters (user secrets or Parameters__* in development, prompted or Key Vault on
// deployment), never values in code.
var appRolePassword = builder.AddParameter("jobs-app-password", secret: true);
var webhookSigningSecret = builder.AddParameter("webhook-signing-secret", secret: true);
var adminKeyHash = builder.AddParameter("api-admin-key-hash", secret: true);

var postgres = builder.AddPostgres("postgres");
var cache = builder.AddRedis("cache");
if (builder.ExecutionContext.IsRunMode)
{
    postgres.WithDataVolume();
    cache.WithDataVolume();
}

var jobsdb = postgres.AddDatabase("jobsdb");

// Least privilege: only the Migrator gets the owner's connection (WithReference); it creates the
// jobs_app role with the parameter's password, and the Api and the Workers connect as jobs_app.
var endpoint = postgres.Resource.PrimaryEndpoint;
var appConnectionString = Aspire.Hosting.ApplicationModel.ReferenceExpression.Create(
    $"Host={endpoint.Property(Aspire.Hosting.ApplicationModel.EndpointProperty.Host)};Port={endpoint.Property(Aspire.Hosting.ApplicationModel.EndpointProperty.Port)};Database=jobsdb;Username=jobs_app;Password={appRolePassword.Resource}");

var migrator = builder.AddProject<Projects.Migrator>("migrator")
    .WithReference(jobsdb)
    .WaitFor(jobsdb)
    .WithEnvironment("Migrator__AppRolePassword", appRolePassword);

builder.AddProject<Projects.Api>("api")
    .WithEnvironment("ConnectionStrings__jobsdb", appConnectionString)
    .WithReference(cache)
    .WaitFor(cache)
    .WaitForCompletion(migrator)
    .WithEnvironment("Api__Keys__admin__Hash", adminKeyHash)
    .WithEnvironment("Api__Keys__admin__Scope", "admin")
    .WithHttpHealthCheck("/health")
    .WithExternalHttpEndpoints();

builder.AddProject<Projects.Worker>("worker")
    .WithEnvironment("ConnectionStrings__jobsdb", appConnectionString)
    .WithEnvironment("Webhooks__SigningSecret", webhookSigningSecret)
    .WaitForCompletion(migrator)
    .WithReplicas(2)
    .WithHttpHealthCheck("/health");

builder.Build().Run();
