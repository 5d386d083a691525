namespace LlmInfra.Artifacts.Stores;

/// <summary>An object under the model's prefix: its size and the SHA-256 recorded when it was uploaded (if any).</summary>
public sealed record RemoteObject(long Size, string? Sha256);

/// <summary>How a store is reached beyond its URI: tests and S3-compatible stores override the endpoint.</summary>
public sealed record StoreOptions
{
    /// <summary>Service endpoint instead of the cloud's (S3: any S3-compatible server, path-style; Azure: the blob service URL).</summary>
    public Uri? Endpoint { get; init; }

    /// <summary>AWS region; default the SDK's (AWS_REGION, the profile), else us-east-1.</summary>
    public string? Region { get; init; }

    /// <summary>Bytes per multipart part / block. S3 needs at least 5 MiB for every part but the last.</summary>
    public long PartSize { get; init; } = 64L << 20;

    /// <summary>Parts / blocks in flight at once per file.</summary>
    public int Concurrency { get; init; } = 4;

    /// <summary>Where S3 remembers interrupted multipart uploads; default under the user's local data folder.</summary>
    public string? StateDirectory { get; init; }
}

/// <summary>
/// A model's prefix in an object store (<c>s3://bucket/models/name</c> or
/// <c>https://account.blob.core.windows.net/container/models/name</c>). Keys are relative to the prefix:
/// <c>&lt;version&gt;/&lt;path&gt;</c>. Credentials come from the SDKs' default chains.
/// </summary>
public interface IArtifactStore : IDisposable
{
    /// <summary>The full URI of <paramref name="key"/>, for messages.</summary>
    string Describe(string key);

    Task<RemoteObject?> StatAsync(string key, CancellationToken cancellationToken);

    /// <summary>The whole object, or null when it does not exist (for the manifest: small).</summary>
    Task<byte[]?> ReadAllAsync(string key, CancellationToken cancellationToken);

    /// <summary>Writes a small object only if it does not exist yet; false when it does (someone published first).</summary>
    Task<bool> CreateAsync(string key, byte[] content, CancellationToken cancellationToken);

    /// <summary>
    /// Uploads a file in parts, resuming an earlier interrupted upload of the same content (same SHA-256) where the
    /// store allows; records the SHA-256 on the object. <paramref name="progress"/> gets bytes done (resumed parts too);
    /// the result is the bytes actually sent.
    /// </summary>
    Task<long> UploadAsync(string localPath, string key, long size, string sha256, IProgress<long> progress, CancellationToken cancellationToken);

    /// <summary>Appends the object's bytes from <paramref name="offset"/> on to <paramref name="destination"/>.</summary>
    Task DownloadAsync(string key, long offset, Stream destination, IProgress<long> progress, CancellationToken cancellationToken);
}

/// <summary>Opens the store a prefix URI names.</summary>
public static class ArtifactStore
{
    public static IArtifactStore Open(string prefixUri, StoreOptions? options = null)
    {
        options ??= new StoreOptions();
        if (!Uri.TryCreate(prefixUri, UriKind.Absolute, out var uri))
            throw new ArtifactException($"'{prefixUri}' is not a store URI: give s3://<bucket>/<prefix> or https://<account>.blob.core.windows.net/<container>/<prefix>");
        var path = uri.AbsolutePath.Trim('/');
        switch (uri.Scheme)
        {
            case "s3":
                if (string.IsNullOrEmpty(uri.Host)) throw new ArtifactException($"'{prefixUri}': no bucket");
                return new S3ArtifactStore(uri.Host, path, options);
            case "https" when uri.Host.EndsWith(".blob.core.windows.net", StringComparison.OrdinalIgnoreCase)
                              || uri.Host.EndsWith(".blob.core.usgovcloudapi.net", StringComparison.OrdinalIgnoreCase)
                              || uri.Host.EndsWith(".blob.core.chinacloudapi.cn", StringComparison.OrdinalIgnoreCase):
            {
                var slash = path.IndexOf('/');
                var container = slash < 0 ? path : path[..slash];
                if (container.Length == 0) throw new ArtifactException($"'{prefixUri}': no container");
                return new AzureBlobArtifactStore(uri, uri.Host.Split('.')[0], container, slash < 0 ? "" : path[(slash + 1)..], options);
            }
            default:
                throw new ArtifactException(
                    $"'{prefixUri}' is not a store URI: give s3://<bucket>/<prefix> or https://<account>.blob.core.windows.net/<container>/<prefix>");
        }
    }

    /// <summary>Joins a prefix and a relative key with single slashes.</summary>
    internal static string Join(string prefix, string key) => prefix.Length == 0 ? key : $"{prefix}/{key}";
}
