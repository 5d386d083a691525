using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace LlmInfra.Artifacts;

/// <summary>Digests in the form <c>sha256:&lt;64 lowercase hex&gt;</c>, the form OCI image digests use.</summary>
public static partial class ArtifactDigest
{
    public const string Format = "sha256:<64 lowercase hex digits>";

    [GeneratedRegex("^sha256:[0-9a-f]{64}$")]
    private static partial Regex Pattern();

    public static bool IsValid(string? digest) => digest is not null && Pattern().IsMatch(digest);

    public static string Of(ReadOnlySpan<byte> bytes) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// <summary>Hex SHA-256 of a file, read sequentially in large blocks.</summary>
    public static async Task<string> HashFileAsync(string path, IProgress<long>? progress, CancellationToken cancellationToken)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20,
            FileOptions.Asynchronous | FileOptions.SequentialScan);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 20];
        int read;
        while ((read = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
        {
            hash.AppendData(buffer, 0, read);
            progress?.Report(read);
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }
}
