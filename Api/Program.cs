using Api.Apis;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();

app.UseApiPipeline();

app.MapJobsApi();
app.MapWorkflowsApi();
app.MapBatchesApi();
app.MapStatsApi();
app.MapSchedulesApi();
app.MapDatabaseApi();
app.MapQueuesApi();
app.MapAdminPage();
app.MapDefaultEndpoints();

app.Run();
