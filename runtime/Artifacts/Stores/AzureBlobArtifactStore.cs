using System.Text;
using Azure;
using Azure.Core;
using Azure.Identity;
using Azure.Storage;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;

namespace LlmInfra.Artifacts.Stores;

/// <summary>
/// Azure Blob Storage through the official Azure.Storage.Blobs client. Credentials: DefaultAzureCredential (workload
/// identity on AKS, managed identity, Azure CLI), or the account key in AZURE_STORAGE_KEY (the Azure CLI's variable;
/// for emulators). Files go up as block blobs: blocks are staged under ids derived from the file's SHA-256 and index,
/// so an interrupted publish finds the blocks already staged (the uncommitted block list) and sends only the rest.
/// </summary>
public sealed class AzureBlobArtifactStore : IArtifactStore
{
    private const string ShaMetadata = "sha256";
    private readonly BlobContainerClient _container;
    private readonly Uri _prefixUri;
    private readonly string _prefix;
    private readonly StoreOptions _options;

    public AzureBlobArtifactStore(Uri prefixUri, string account, string container, string prefix, StoreOptions options)
    {
        _prefixUri = prefixUri;
        _prefix = prefix;
        _options = options;
        var service = options.Endpoint ?? new Uri($"{prefixUri.Scheme}://{prefixUri.Host}");
        var containerUri = new Uri($"{service.ToString().TrimEnd('/')}/{container}");
        var clientOptions = new BlobClientOptions();
        _container = Environment.GetEnvironmentVariable("AZURE_STORAGE_KEY") is { Length: > 0 } key
            ? new BlobContainerClient(containerUri, new StorageSharedKeyCredential(account, key), clientOptions)
            : new BlobContainerClient(containerUri, new DefaultAzureCredential(), clientOptions);
    }

    public string Describe(string key) => $"{_prefixUri.ToString().TrimEnd('/')}/{key}";

    private BlockBlobClient Blob(string key) => _container.GetBlockBlobClient(ArtifactStore.Join(_prefix, key));

    public async Task<RemoteObject?> StatAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            var properties = (await Call(key, () => Blob(key).GetPropertiesAsync(cancellationToken: cancellationToken), 404).ConfigureAwait(false)).Value;
            return new RemoteObject(properties.ContentLength, properties.Metadata.TryGetValue(ShaMetadata, out var sha) ? sha : null);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }
    }

    public async Task<byte[]?> ReadAllAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            var content = await Call(key, () => Blob(key).DownloadContentAsync(cancellationToken), 404).ConfigureAwait(false);
            return content.Value.Content.ToArray();
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }
    }

    public async Task<bool> CreateAsync(string key, byte[] content, CancellationToken cancellationToken)
    {
        try
        {
            await Call(key, () => Blob(key).UploadAsync(new MemoryStream(content), new BlobUploadOptions
            {
                HttpHeaders = new BlobHttpHeaders { ContentType = "application/json" },
                Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All },
            }, cancellationToken), 409, 412).ConfigureAwait(false);
            return true;
        }
        catch (RequestFailedException ex) when (ex.Status is 409 or 412)
        {
            return false;
        }
    }

    public async Task<long> UploadAsync(string localPath, string key, long size, string sha256, IProgress<long> progress, CancellationToken cancellationToken)
    {
        var blob = Blob(key);
        var partSize = _options.PartSize;
        var count = Math.Max(1, (int)((size + partSize - 1) / partSize));
        long Length(int i) => Math.Min(partSize, size - i * partSize);
        // Equal-length ids (Azure requires it), unique to this content and part size, so a block staged for another
        // file or another split is never reused.
        var ids = Enumerable.Range(0, count)
            .Select(i => Convert.ToBase64String(Encoding.ASCII.GetBytes($"{sha256[..32]}-{partSize:D12}-{i:D6}")))
            .ToArray();

        var staged = new Dictionary<string, long>();
        try
        {
            var list = await Call(key, () => blob.GetBlockListAsync(BlockListTypes.Uncommitted, cancellationToken: cancellationToken), 404).ConfigureAwait(false);
            foreach (var b in list.Value.UncommittedBlocks) staged[b.Name] = b.SizeLong;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            // Nothing staged yet.
        }

        var missing = new List<int>();
        for (var i = 0; i < count; i++)
        {
            if (staged.TryGetValue(ids[i], out var length) && length == Length(i)) progress.Report(length);
            else missing.Add(i);
        }
        await Parallel.ForEachAsync(missing, new ParallelOptions { MaxDegreeOfParallelism = _options.Concurrency, CancellationToken = cancellationToken },
            async (i, ct) =>
            {
                await using var slice = new FileSlice(localPath, i * partSize, Length(i));
                await Call(key, () => blob.StageBlockAsync(ids[i], slice, cancellationToken: ct)).ConfigureAwait(false);
                progress.Report(Length(i));
            }).ConfigureAwait(false);

        await Call(key, () => blob.CommitBlockListAsync(ids, new CommitBlockListOptions
        {
            Metadata = new Dictionary<string, string> { [ShaMetadata] = sha256 },
        }, cancellationToken)).ConfigureAwait(false);
        return missing.Sum(Length);
    }

    public async Task DownloadAsync(string key, long offset, Stream destination, IProgress<long> progress, CancellationToken cancellationToken)
    {
        var response = await Call(key, () => Blob(key).DownloadStreamingAsync(new BlobDownloadOptions { Range = new HttpRange(offset) }, cancellationToken))
            .ConfigureAwait(false);
        await using var content = response.Value.Content;
        await StreamCopy.CopyAsync(content, destination, progress, cancellationToken).ConfigureAwait(false);
    }

    /// <param name="answers">Statuses the caller handles itself (e.g. 404 for "does not exist").</param>
    private async Task<T> Call<T>(string key, Func<Task<T>> call, params int[] answers)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (answers.Contains(ex.Status))
        {
            throw;
        }
        catch (RequestFailedException ex)
        {
            throw new ArtifactException($"{Describe(key)}: {ex.Status} {ex.ErrorCode}: {FirstLine(ex.Message)}", inner: ex);
        }
        catch (AuthenticationFailedException ex)
        {
            throw new ArtifactException($"{Describe(key)}: no Azure credential: {FirstLine(ex.Message)}", inner: ex);
        }
    }

    private static string FirstLine(string text) => text.Split('\n', 2)[0].Trim();

    public void Dispose()
    {
    }
}
