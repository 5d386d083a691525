using LlmInfra.Runtime.Api;
using LlmInfra.Runtime.Observability;
using LlmInfra.Runtime.Security;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace LlmInfra.Runtime.Hosting;

/// <summary>Composition root: builds the web application from configuration. Used by Program, the tests and the benchmark.</summary>
public static class RuntimeApp
{
    /// <param name="args">Plain ASP.NET Core arguments (e.g. --urls); usually empty.</param>
    /// <param name="settings">Highest-priority configuration, e.g. from the command line ("Runtime:Model" = dir).</param>
    public static WebApplication Create(string[] args, IReadOnlyDictionary<string, string?> settings, Action<WebApplicationBuilder>? configure = null)
    {
        // Relative paths in settings (--model dir, --api-keys-file keys.txt) mean the caller's folder, the one the
        // process started in. appsettings.json is the app's own file: read it from beside the binary, wherever the
        // caller stands (the content root would otherwise be the current folder).
        var startDirectory = Environment.CurrentDirectory;
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);

        builder.Services.AddOptions<RuntimeOptions>()
            .Bind(builder.Configuration.GetSection(RuntimeOptions.Section))
            .PostConfigure(o => o.ResolvePaths(startDirectory))
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<RuntimeOptions>, RuntimeOptionsValidator>();
        var runtime = builder.Configuration.GetSection(RuntimeOptions.Section).Get<RuntimeOptions>() ?? new RuntimeOptions();

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.MaxRequestBodySize = runtime.MaxRequestBodyBytes;
            kestrel.AddServerHeader = false;
        });
        // In-flight requests get the drain grace period; the host needs a little longer than that to stop.
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(runtime.DrainGraceSeconds + 5));

        builder.Services.AddSingleton<ModelHost>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ModelHost>());
        builder.Services.AddSingleton<RuntimeMetrics>();
        builder.Services.AddSingleton<RequestValidator>();
        builder.Services.AddSingleton<CompletionHandler>();
        builder.Services.AddSingleton(sp =>
        {
            var o = sp.GetRequiredService<IOptions<RuntimeOptions>>().Value;
            return new ApiKeyHolder(o.NoAuth ? null : ApiKeyStore.FromFile(o.ApiKeysFile!));
        });
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<TenantLimits>();
        builder.AddServerTls();
        configure?.Invoke(builder);

        var app = builder.Build();
        app.UseMiddleware<AccessLogMiddleware>();
        app.UseMiddleware<ErrorHandlingMiddleware>();
        app.UseMiddleware<ApiKeyMiddleware>();
        app.UseMiddleware<ReadinessGateMiddleware>();
        app.UseMiddleware<TenantLimitMiddleware>();
        app.MapRuntimeEndpoints();
        return app;
    }
}
