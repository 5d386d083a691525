using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace LlmInfra.Runtime.Security;

/// <summary>Per-key limits; null means unlimited.</summary>
public sealed record KeyLimits(int? RequestsPerMinute = null, int? TokensPerMinute = null, int? MaxConcurrent = null)
{
    public static readonly KeyLimits None = new();
}

/// <summary>
/// One key from the key file: its id (the name in metrics and logs), the SHA-256 of the key (never the key
/// itself), its limits and the models it may use (null: all).
/// </summary>
public sealed record ApiKeyEntry(string Id, byte[] Hash, KeyLimits Limits, IReadOnlySet<string>? Models, int Line)
{
    public bool MayUse(string model) => Models is null || Models.Contains(model);
}

/// <summary>A key file line that cannot be read; the message names the line and never contains a key.</summary>
public sealed class ApiKeyFileException(int line, string message) : InvalidOperationException($"line {line}: {message}")
{
    public int Line { get; } = line;
}

/// <summary>
/// Reads the key file. Two kinds of line, freely mixed; blank lines and lines starting with '#' are skipped:
/// <list type="bullet">
/// <item>a bare key (no whitespace), as before: no limits, all models, id <c>key-</c> + its fingerprint;</item>
/// <item>an entry of space-separated <c>name=value</c> fields: <c>id=team-a key=sk-... rpm=60 tpm=100000
/// max_concurrent=4 models=phi-4-mini,llama-3</c>; id and key are required, the rest optional.</item>
/// </list>
/// A key never contains whitespace (RFC 6750 bearer tokens cannot), so the two kinds cannot be confused.
/// </summary>
public static partial class ApiKeyFileParser
{
    public const int MaxRequestsPerMinute = 1_000_000;
    public const int MaxTokensPerMinute = 1_000_000_000;
    public const int MaxConcurrentLimit = 10_000;

    private static readonly string[] Fields = ["id", "key", "rpm", "tpm", "max_concurrent", "models"];

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    private static partial Regex IdPattern();

    [GeneratedRegex("^[a-z_]{1,32}$")]
    private static partial Regex FieldNamePattern();

    public static IReadOnlyList<ApiKeyEntry> Parse(IEnumerable<string> lines)
    {
        var entries = new List<ApiKeyEntry>();
        var byHash = new Dictionary<string, ApiKeyEntry>();
        var byId = new Dictionary<string, ApiKeyEntry>(StringComparer.Ordinal);
        var number = 0;
        foreach (var raw in lines)
        {
            number++;
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;

            var bare = !line.Any(char.IsWhiteSpace);
            var entry = bare ? BareKey(line, number) : Entry(line, number);
            var hashKey = Convert.ToHexString(entry.Hash);
            if (byHash.TryGetValue(hashKey, out var earlier))
            {
                // Repeating a bare key was always harmless; a key with two entries would have two sets of limits.
                if (bare && earlier.Id == entry.Id) continue;
                throw new ApiKeyFileException(number, $"this key is already listed on line {earlier.Line}.");
            }
            if (byId.TryGetValue(entry.Id, out var sameId))
                throw new ApiKeyFileException(number, $"id '{entry.Id}' is already used on line {sameId.Line}.");
            byHash[hashKey] = entry;
            byId[entry.Id] = entry;
            entries.Add(entry);
        }
        return entries;
    }

    /// <summary>A short, non-reversible id for logs: the first 8 hex digits of the key's SHA-256.</summary>
    public static string Fingerprint(string key) => Convert.ToHexStringLower(Hash(key))[..8];

    public static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));

    private static ApiKeyEntry BareKey(string key, int line) => new($"key-{Fingerprint(key)}", Hash(key), KeyLimits.None, null, line);

    private static ApiKeyEntry Entry(string line, int number)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var fields = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        for (var i = 0; i < fields.Length; i++)
        {
            // Field text is only echoed when it is a plain lower-case name: anything else may be (part of) a key.
            var field = fields[i];
            var eq = field.IndexOf('=');
            if (eq <= 0)
                throw new ApiKeyFileException(number,
                    $"field {i + 1} is not name=value. A line with spaces is an entry such as 'id=team-a key=<key> rpm=60'; a bare key has no spaces.");
            var name = field[..eq];
            if (!Fields.Contains(name))
                throw new ApiKeyFileException(number,
                    $"unknown field {(FieldNamePattern().IsMatch(name) ? $"'{name}'" : (i + 1).ToString(CultureInfo.InvariantCulture))} (known: {string.Join(", ", Fields)}).");
            if (!values.TryAdd(name, field[(eq + 1)..]))
                throw new ApiKeyFileException(number, $"'{name}' is given twice.");
            if (values[name].Length == 0)
                throw new ApiKeyFileException(number, $"'{name}' has no value.");
        }

        if (!values.TryGetValue("id", out var id))
            throw new ApiKeyFileException(number, "the entry has no id=<name>.");
        if (!IdPattern().IsMatch(id))
            throw new ApiKeyFileException(number, "id must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit.");
        if (!values.TryGetValue("key", out var key))
            throw new ApiKeyFileException(number, $"entry '{id}' has no key=<api key>.");

        var limits = new KeyLimits(
            Number(values, "rpm", MaxRequestsPerMinute, number),
            Number(values, "tpm", MaxTokensPerMinute, number),
            Number(values, "max_concurrent", MaxConcurrentLimit, number));
        HashSet<string>? models = null;
        if (values.TryGetValue("models", out var list))
        {
            var names = list.Split(',');
            if (names.Any(n => n.Length == 0))
                throw new ApiKeyFileException(number, "models must be a comma-separated list of model ids without empty items.");
            models = new HashSet<string>(names, StringComparer.Ordinal);
        }
        return new ApiKeyEntry(id, Hash(key), limits, models, number);
    }

    private static int? Number(Dictionary<string, string> values, string name, int max, int line)
    {
        if (!values.TryGetValue(name, out var text)) return null;
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value < 1 || value > max)
            throw new ApiKeyFileException(line, $"{name} must be a whole number from 1 to {max.ToString("N0", CultureInfo.InvariantCulture)}.");
        return value;
    }
}
