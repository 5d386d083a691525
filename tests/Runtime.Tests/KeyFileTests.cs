using LlmInfra.Runtime.Security;

namespace LlmInfra.Runtime.Tests;

/// <summary>The key file: old one-key-per-line files keep working, entries carry ids and limits, bad lines name their line.</summary>
public sealed class KeyFileTests
{
    private const string Secret = "sk-Secret0123456789";

    [Fact]
    public void Bare_keys_read_as_before_with_an_id_from_their_fingerprint()
    {
        var keys = ApiKeyFileParser.Parse(["# comment", "", "  key-one  ", "key-two", "key-two", "base64key+/=="]);

        Assert.Equal(new[] { "key-one", "key-two", "base64key+/==" }.Select(k => $"key-{ApiKeyFileParser.Fingerprint(k)}"), keys.Select(k => k.Id));
        Assert.All(keys, k => Assert.Equal(KeyLimits.None, k.Limits));
        Assert.All(keys, k => Assert.Null(k.Models));
        Assert.Equal(new[] { 3, 4, 6 }, keys.Select(k => k.Line));
    }

    [Fact]
    public void Entries_carry_id_limits_and_models_in_any_order()
    {
        var keys = ApiKeyFileParser.Parse([
            "id=team-a key=sk-a rpm=60 tpm=100000 max_concurrent=4 models=phi-4-mini,llama-3",
            "\tmodels=tiny   key=sk-b\tid=team.b_2  ",
            "sk-legacy",
        ]);

        var a = keys[0];
        Assert.Equal("team-a", a.Id);
        Assert.Equal(new KeyLimits(60, 100_000, 4), a.Limits);
        Assert.True(a.MayUse("phi-4-mini"));
        Assert.True(a.MayUse("llama-3"));
        Assert.False(a.MayUse("tiny"));
        Assert.Equal(ApiKeyFileParser.Hash("sk-a"), a.Hash);

        var b = keys[1];
        Assert.Equal("team.b_2", b.Id);
        Assert.Equal(KeyLimits.None, b.Limits);
        Assert.True(b.MayUse("tiny"));
        Assert.False(b.MayUse("phi-4-mini"));
        Assert.Equal(2, b.Line);
        Assert.StartsWith("key-", keys[2].Id);
    }

    [Theory]
    [InlineData($"id=a key={Secret} rmp=5", "unknown field 'rmp' (known: id, key, rpm, tpm, max_concurrent, models)")]
    [InlineData($"id=a {Secret}", "field 2 is not name=value")]
    [InlineData($"{Secret} id=a", "field 1 is not name=value")]
    [InlineData($"id=a key={Secret} {Secret}=x", "unknown field 3")]
    [InlineData($"key={Secret} rpm=5", "the entry has no id=<name>")]
    [InlineData("id=a rpm=5", "entry 'a' has no key=<api key>")]
    [InlineData($"id=a key={Secret} rpm=0", "rpm must be a whole number from 1 to 1,000,000")]
    [InlineData($"id=a key={Secret} tpm=1e6", "tpm must be a whole number from 1 to 1,000,000,000")]
    [InlineData($"id=a key={Secret} max_concurrent=-1", "max_concurrent must be a whole number from 1 to 10,000")]
    [InlineData($"id=a key={Secret} rpm=1 rpm=2", "'rpm' is given twice")]
    [InlineData($"id=a key={Secret} models=", "'models' has no value")]
    [InlineData($"id=a key={Secret} models=x,,y", "models must be a comma-separated list")]
    [InlineData($"id=bad/id key={Secret}", "id must be 1 to 64 letters, digits")]
    [InlineData($"id=-a key={Secret}", "id must be 1 to 64 letters, digits")]
    public void A_bad_line_fails_with_its_number_and_never_the_key(string line, string expected)
    {
        var ex = Assert.Throws<ApiKeyFileException>(() => ApiKeyFileParser.Parse(["# keys", "sk-fine", line]));

        Assert.Equal(3, ex.Line);
        Assert.StartsWith("line 3: ", ex.Message);
        Assert.Contains(expected, ex.Message);
        Assert.DoesNotContain("Secret", ex.Message);
    }

    [Fact]
    public void A_key_listed_twice_with_different_settings_or_an_id_used_twice_is_refused()
    {
        var twice = Assert.Throws<ApiKeyFileException>(() => ApiKeyFileParser.Parse([Secret, "", $"id=a key={Secret} rpm=5"]));
        Assert.Equal("line 3: this key is already listed on line 1.", twice.Message);

        var sameId = Assert.Throws<ApiKeyFileException>(() => ApiKeyFileParser.Parse(["id=a key=sk-1", "id=a key=sk-2"]));
        Assert.Equal("line 2: id 'a' is already used on line 1.", sameId.Message);
    }

    [Fact]
    public void Store_finds_the_entry_of_a_presented_key()
    {
        var store = new ApiKeyStore(["id=team-a key=sk-a rpm=1", "sk-b"]);

        Assert.Equal("team-a", store.Find("sk-a")?.Id);
        Assert.Equal($"key-{ApiKeyStore.Fingerprint("sk-b")}", store.Find("sk-b")?.Id);
        Assert.Null(store.Find("sk-c"));
        Assert.Null(store.Find("id=team-a key=sk-a rpm=1"));
    }

    [Fact]
    public async Task The_server_process_stops_on_a_bad_line_with_one_line_naming_it()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, $"sk-ok\n\nid=team-a key={Secret} max_concurrent=0\n");
            var (code, stdout, stderr) = await ProcessTests.RunToEndAsync("--model", Infrastructure.Models.Tiny, "--api-keys-file", file, "--urls", "http://127.0.0.1:0");

            Assert.True(code == 2, $"exit {code}\n{stdout}\n{stderr}");
            Assert.Equal($"Startup failed: Runtime:ApiKeysFile (--api-keys-file): '{file}' line 3: max_concurrent must be a whole number from 1 to 10,000.", stderr.Trim());
            Assert.DoesNotContain("Secret", stdout + stderr);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Key_file_errors_name_the_option_the_file_and_the_line()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, $"# keys\nsk-ok\nid=a key={Secret} rpm=many\n");
            var ex = Assert.Throws<InvalidOperationException>(() => ApiKeyStore.FromFile(file));
            Assert.Equal($"Runtime:ApiKeysFile (--api-keys-file): '{file}' line 3: rpm must be a whole number from 1 to 1,000,000.", ex.Message);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
