using System.ClientModel;
using System.Net.Http.Headers;
using LlmInfra.Runtime.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenAI;
using OpenAI.Chat;

namespace LlmInfra.Runtime.Tests.Infrastructure;

/// <summary>A real Kestrel server on 127.0.0.1 (random port) running the runtime in this process.</summary>
public sealed class RuntimeServer : IAsyncDisposable
{
    public const string ApiKey = "sk-test-0123456789";
    public const string ModelName = "tiny";

    private readonly string _keyFile;

    private RuntimeServer(WebApplication app, Uri baseAddress, string keyFile)
    {
        App = app;
        BaseAddress = baseAddress;
        _keyFile = keyFile;
        Client = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(60) };
        Client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ApiKey);
    }

    public WebApplication App { get; }
    public Uri BaseAddress { get; }

    /// <summary>Sends the valid API key.</summary>
    public HttpClient Client { get; }

    public ModelHost Host => App.Services.GetRequiredService<ModelHost>();

    /// <summary>The official OpenAI .NET client, pointed at this server.</summary>
    public ChatClient ChatClient(string key = ApiKey) =>
        new(ModelName, new ApiKeyCredential(key), new OpenAIClientOptions { Endpoint = new Uri(BaseAddress, "/v1") });

    /// <param name="configure">Extra builder setup, e.g. a log provider to inspect.</param>
    public static async Task<RuntimeServer> StartAsync(string? modelDir = null, IDictionary<string, string?>? overrides = null,
        Action<WebApplicationBuilder>? configure = null)
    {
        var keyFile = Path.Combine(Path.GetTempPath(), $"llm-infra-keys-{Guid.NewGuid():N}.txt");
        await File.WriteAllTextAsync(keyFile, $"# test keys\n\n{ApiKey}\nsk-other-key\n");
        var settings = new Dictionary<string, string?>
        {
            ["urls"] = "http://127.0.0.1:0",
            ["Runtime:Model"] = modelDir ?? Models.Tiny,
            ["Runtime:ModelName"] = ModelName,
            ["Runtime:ApiKeysFile"] = keyFile,
            ["Runtime:DrainGraceSeconds"] = "30",
        };
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
            settings[key] = value;

        var app = RuntimeApp.Create([], settings, builder =>
        {
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            configure?.Invoke(builder);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var server = new RuntimeServer(app, new Uri(address), keyFile);
        await server.Host.Loaded;
        Assert.Equal(ServingState.Ready, server.Host.State);
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        File.Delete(_keyFile);
    }
}

/// <summary>One server on one model, started once for a test collection.</summary>
public abstract class ModelServerFixture(string? modelDir) : IAsyncLifetime
{
    public RuntimeServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await RuntimeServer.StartAsync(modelDir);

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>One shared server for tests that do not change server state.</summary>
public sealed class SharedServerFixture() : ModelServerFixture(null);

[CollectionDefinition(Name)]
public sealed class SharedServerCollection : ICollectionFixture<SharedServerFixture>
{
    public const string Name = "shared server";
}

/// <summary>
/// A server on the long-context model (same weights as the tiny one, 8192 tokens of context): for requests whose
/// prompts carry tool definitions, which outgrow the tiny model's 256 tokens.
/// </summary>
public sealed class LongContextServerFixture() : ModelServerFixture(Models.Long);

[CollectionDefinition(Name)]
public sealed class LongContextServerCollection : ICollectionFixture<LongContextServerFixture>
{
    public const string Name = "long-context server";
}

/// <summary>The shared server's counterpart on the paged tiny model: the same API served by GenAI's Engine.</summary>
public sealed class PagedServerFixture() : ModelServerFixture(Models.TinyPaged);

[CollectionDefinition(Name)]
public sealed class PagedServerCollection : ICollectionFixture<PagedServerFixture>
{
    public const string Name = "paged server";
}

/// <summary>The long-context server's counterpart on the paged model, for tool prompts on the engine.</summary>
public sealed class PagedLongContextServerFixture() : ModelServerFixture(Models.LongPaged);

[CollectionDefinition(Name)]
public sealed class PagedLongContextServerCollection : ICollectionFixture<PagedLongContextServerFixture>
{
    public const string Name = "paged long-context server";
}
