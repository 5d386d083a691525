using System.Security.Cryptography;

namespace LlmInfra.Runtime.Security;

/// <summary>
/// The API keys of the key file (see <see cref="ApiKeyFileParser"/> for its format). Only SHA-256 hashes are kept; a
/// presented key is hashed and compared against every stored hash in constant time.
/// </summary>
public sealed class ApiKeyStore
{
    public ApiKeyStore(IEnumerable<string> lines) => Keys = ApiKeyFileParser.Parse(lines);

    public IReadOnlyList<ApiKeyEntry> Keys { get; }

    public int Count => Keys.Count;

    /// <summary>Reads the key file; a bad line fails with its line number (and never the key).</summary>
    public static ApiKeyStore FromFile(string path)
    {
        ApiKeyStore store;
        try
        {
            store = new ApiKeyStore(File.ReadLines(path));
        }
        catch (ApiKeyFileException ex)
        {
            throw new InvalidOperationException($"Runtime:ApiKeysFile (--api-keys-file): '{path}' {ex.Message}", ex);
        }
        if (store.Count == 0)
            throw new InvalidOperationException($"Runtime:ApiKeysFile (--api-keys-file): '{path}' contains no keys.");
        return store;
    }

    /// <summary>The entry of the presented key, or null. Checks all of them so timing does not tell which matched.</summary>
    public ApiKeyEntry? Find(string presented)
    {
        var hash = ApiKeyFileParser.Hash(presented);
        ApiKeyEntry? match = null;
        foreach (var entry in Keys)
        {
            if (CryptographicOperations.FixedTimeEquals(hash, entry.Hash)) match = entry;
        }
        return match;
    }

    public bool IsValid(string presented) => Find(presented) is not null;

    /// <summary>A short, non-reversible id for logs: the first 8 hex digits of the key's SHA-256.</summary>
    public static string Fingerprint(string key) => ApiKeyFileParser.Fingerprint(key);
}
