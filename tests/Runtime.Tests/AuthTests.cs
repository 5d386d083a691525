using System.Net;
using System.Net.Http.Headers;
using LlmInfra.Runtime.Security;
using LlmInfra.Runtime.Tests.Infrastructure;

namespace LlmInfra.Runtime.Tests;

[Collection(SharedServerCollection.Name)]
public sealed class AuthTests(SharedServerFixture fixture)
{
    private HttpClient Anonymous() => new() { BaseAddress = fixture.Server.BaseAddress };

    [Theory]
    [InlineData(null)]
    [InlineData("Bearer wrong-key")]
    [InlineData("Basic c2stdGVzdA==")]
    [InlineData("Bearer ")]
    public async Task Api_requests_without_a_valid_key_get_401_in_openai_form(string? authorization)
    {
        using var client = Anonymous();
        if (authorization is not null) client.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", authorization);

        using var response = await client.PostJsonAsync("/v1/chat/completions", Http.Chat("hi"));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
        var error = (await response.JsonAsync())["error"]!;
        Assert.Equal("invalid_api_key", (string?)error["code"]);
        Assert.False(string.IsNullOrEmpty((string?)error["message"]));
    }

    [Fact]
    public async Task Every_key_in_the_file_is_accepted()
    {
        using var client = Anonymous();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "sk-other-key");
        using var response = await client.GetAsync("/v1/models");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData("/healthz")]
    [InlineData("/readyz")]
    [InlineData("/metrics")]
    public async Task Probes_and_metrics_need_no_key(string path)
    {
        using var client = Anonymous();
        using var response = await client.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public void Key_store_skips_comments_and_blank_lines_and_compares_hashes()
    {
        var store = new ApiKeyStore(["# comment", "", "  key-one  ", "key-two", "key-two"]);
        Assert.Equal(2, store.Count);
        Assert.True(store.IsValid("key-one"));
        Assert.True(store.IsValid("key-two"));
        Assert.False(store.IsValid("key-three"));
        Assert.False(store.IsValid(""));
    }

    [Fact]
    public void Fingerprint_is_short_and_does_not_contain_the_key()
    {
        var fingerprint = ApiKeyStore.Fingerprint("sk-secret-value");
        Assert.Equal(8, fingerprint.Length);
        Assert.DoesNotContain("secret", fingerprint);
        Assert.Equal(fingerprint, ApiKeyStore.Fingerprint("sk-secret-value"));
    }

    [Fact]
    public void Empty_key_file_is_refused()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, "# only a comment\n\n");
            var ex = Assert.Throws<InvalidOperationException>(() => ApiKeyStore.FromFile(file));
            Assert.Contains("--api-keys-file", ex.Message);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
