using System.Security.Cryptography;
using System.Text;

namespace LlmInfra.Runtime.Security;

/// <summary>
/// API keys from a file, one per line (blank lines and lines starting with '#' are skipped). Only SHA-256 hashes are
/// kept; a presented key is hashed and compared against every stored hash in constant time.
/// </summary>
public sealed class ApiKeyStore
{
    private readonly byte[][] _hashes;

    public ApiKeyStore(IEnumerable<string> keys)
    {
        _hashes = keys.Select(k => k.Trim()).Where(k => k.Length > 0 && !k.StartsWith('#')).Distinct()
            .Select(Hash).ToArray();
    }

    public int Count => _hashes.Length;

    public static ApiKeyStore FromFile(string path)
    {
        var store = new ApiKeyStore(File.ReadLines(path));
        if (store.Count == 0)
            throw new InvalidOperationException($"Runtime:ApiKeysFile (--api-keys-file): '{path}' contains no keys.");
        return store;
    }

    /// <summary>True when the key is one of the stored keys. Checks all of them so timing does not tell which matched.</summary>
    public bool IsValid(string presented)
    {
        var hash = Hash(presented);
        var match = false;
        foreach (var stored in _hashes)
            match |= CryptographicOperations.FixedTimeEquals(hash, stored);
        return match;
    }

    /// <summary>A short, non-reversible id for logs: the first 8 hex digits of the key's SHA-256.</summary>
    public static string Fingerprint(string key) => Convert.ToHexStringLower(Hash(key))[..8];

    private static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));
}
