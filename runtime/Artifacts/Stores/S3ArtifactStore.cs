using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Amazon;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace LlmInfra.Artifacts.Stores;

/// <summary>
/// S3 (or an S3-compatible server with <see cref="StoreOptions.Endpoint"/>), through the official AWSSDK.S3 client and
/// its default credential chain (environment, EKS Pod Identity, IRSA web identity, profile, instance role).
/// Large files go up as multipart uploads; the upload id and the finished parts are kept in a local state file, so an
/// interrupted publish resumes with the parts it has not sent yet.
/// </summary>
public sealed class S3ArtifactStore : IArtifactStore
{
    private const string ShaMetadata = "sha256";
    private readonly AmazonS3Client _client;
    private readonly string _bucket;
    private readonly string _prefix;
    private readonly StoreOptions _options;

    public S3ArtifactStore(string bucket, string prefix, StoreOptions options)
    {
        _bucket = bucket;
        _prefix = prefix;
        _options = options;
        var config = new AmazonS3Config
        {
            // Integrity is end to end: every file's SHA-256 is in the manifest and checked after download. The SDK's
            // default CRC trailers (aws-chunked) are also not understood by every S3-compatible server, hence also
            // UseChunkEncoding = false on uploads: the whole payload is signed (S3 checks its SHA-256) in plain form.
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        };
        if (options.Endpoint is not null)
        {
            config.ServiceURL = options.Endpoint.ToString();
            config.ForcePathStyle = true;
            config.AuthenticationRegion = options.Region ?? "us-east-1";
        }
        else if (options.Region is not null)
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(options.Region);
        try
        {
            _client = new AmazonS3Client(config);
        }
        catch (AmazonClientException ex)
        {
            throw new ArtifactException($"s3://{bucket}: cannot create the S3 client ({ex.Message}); set AWS_REGION or give --region", inner: ex);
        }
    }

    /// <summary>Where interrupted multipart uploads are remembered; default under the user's local data folder.</summary>
    public static string DefaultStateDirectory() =>
        Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create), "llm-model", "uploads");

    public string Describe(string key) => $"s3://{_bucket}/{ArtifactStore.Join(_prefix, key)}";

    private string Key(string key) => ArtifactStore.Join(_prefix, key);

    public async Task<RemoteObject?> StatAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            var head = await Call(key, () => _client.GetObjectMetadataAsync(_bucket, Key(key), cancellationToken), HttpStatusCode.NotFound).ConfigureAwait(false);
            return new RemoteObject(head.ContentLength, head.Metadata[ShaMetadata]);
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    public async Task<byte[]?> ReadAllAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await Call(key, () => _client.GetObjectAsync(_bucket, Key(key), cancellationToken), HttpStatusCode.NotFound).ConfigureAwait(false);
            using var buffer = new MemoryStream();
            await response.ResponseStream.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
            return buffer.ToArray();
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    public async Task<bool> CreateAsync(string key, byte[] content, CancellationToken cancellationToken)
    {
        try
        {
            // If-None-Match: * makes S3 refuse the write when the object appeared since it was checked (two publishers).
            await Call(key, () => _client.PutObjectAsync(new PutObjectRequest
            {
                BucketName = _bucket,
                Key = Key(key),
                InputStream = new MemoryStream(content),
                ContentType = "application/json",
                IfNoneMatch = "*",
                UseChunkEncoding = false,
            }, cancellationToken), HttpStatusCode.PreconditionFailed, HttpStatusCode.Conflict).ConfigureAwait(false);
            return true;
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode is HttpStatusCode.PreconditionFailed or HttpStatusCode.Conflict)
        {
            return false;
        }
    }

    public async Task<long> UploadAsync(string localPath, string key, long size, string sha256, IProgress<long> progress, CancellationToken cancellationToken)
    {
        if (size <= _options.PartSize)
        {
            var put = new PutObjectRequest { BucketName = _bucket, Key = Key(key), FilePath = localPath, UseChunkEncoding = false };
            put.Metadata[ShaMetadata] = sha256;
            await Call(key, () => _client.PutObjectAsync(put, cancellationToken)).ConfigureAwait(false);
            progress.Report(size);
            return size;
        }

        var stateFile = Path.Combine(_options.StateDirectory ?? DefaultStateDirectory(),
            Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Describe(key)))) + ".json");
        var state = UploadState.Load(stateFile, sha256, _options.PartSize);
        if (state is null)
        {
            var initiate = new InitiateMultipartUploadRequest { BucketName = _bucket, Key = Key(key) };
            initiate.Metadata[ShaMetadata] = sha256;
            var started = await Call(key, () => _client.InitiateMultipartUploadAsync(initiate, cancellationToken)).ConfigureAwait(false);
            state = new UploadState { UploadId = started.UploadId, Sha256 = sha256, PartSize = _options.PartSize };
            state.Save(stateFile);
        }

        var partCount = (int)((size + _options.PartSize - 1) / _options.PartSize);
        long PartLength(int number) => Math.Min(_options.PartSize, size - (number - 1) * _options.PartSize);
        foreach (var done in state.Parts.Keys) progress.Report(PartLength(done));
        var missing = Enumerable.Range(1, partCount).Where(n => !state.Parts.ContainsKey(n)).ToList();
        await Parallel.ForEachAsync(missing, new ParallelOptions { MaxDegreeOfParallelism = _options.Concurrency, CancellationToken = cancellationToken },
            async (number, ct) =>
            {
                var part = await Call(key, () => _client.UploadPartAsync(new UploadPartRequest
                {
                    BucketName = _bucket,
                    Key = Key(key),
                    UploadId = state.UploadId,
                    PartNumber = number,
                    FilePath = localPath,
                    FilePosition = (number - 1) * _options.PartSize,
                    PartSize = PartLength(number),
                    UseChunkEncoding = false,
                }, ct)).ConfigureAwait(false);
                state.Parts[number] = part.ETag;
                state.Save(stateFile);
                progress.Report(PartLength(number));
            }).ConfigureAwait(false);

        try
        {
            await Call(key, () => _client.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
            {
                BucketName = _bucket,
                Key = Key(key),
                UploadId = state.UploadId,
                PartETags = [.. state.Parts.OrderBy(p => p.Key).Select(p => new PartETag(p.Key, p.Value))],
            }, cancellationToken)).ConfigureAwait(false);
        }
        finally
        {
            // Completed, or the upload id is gone (aborted, expired by a lifecycle rule): either way start afresh next time.
            File.Delete(stateFile);
        }
        return missing.Sum(PartLength);
    }

    public async Task DownloadAsync(string key, long offset, Stream destination, IProgress<long> progress, CancellationToken cancellationToken)
    {
        var request = new GetObjectRequest { BucketName = _bucket, Key = Key(key) };
        if (offset > 0) request.ByteRange = new ByteRange($"bytes={offset}-");
        using var response = await Call(key, () => _client.GetObjectAsync(request, cancellationToken)).ConfigureAwait(false);
        await StreamCopy.CopyAsync(response.ResponseStream, destination, progress, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Store failures other than "not found" become one-line errors naming the object.</summary>
    /// <param name="answers">Statuses the caller handles itself (e.g. 404 for "does not exist").</param>
    private async Task<T> Call<T>(string key, Func<Task<T>> call, params HttpStatusCode[] answers)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (AmazonS3Exception ex) when (answers.Contains(ex.StatusCode))
        {
            throw;
        }
        catch (AmazonServiceException ex)
        {
            throw new ArtifactException($"{Describe(key)}: {(int)ex.StatusCode} {ex.ErrorCode}: {ex.Message}", inner: ex);
        }
        catch (AmazonClientException ex)
        {
            throw new ArtifactException($"{Describe(key)}: {ex.Message}", inner: ex);
        }
        catch (HttpRequestException ex)
        {
            throw new ArtifactException($"{Describe(key)}: {ex.Message}", inner: ex);
        }
    }

    public void Dispose() => _client.Dispose();

    /// <summary>An interrupted multipart upload: its id, what it uploads, and the parts S3 has acknowledged.</summary>
    private sealed class UploadState
    {
        public required string UploadId { get; init; }
        public required string Sha256 { get; init; }
        public required long PartSize { get; init; }
        public ConcurrentDictionary<int, string> Parts { get; init; } = new();

        private readonly Lock _gate = new();

        /// <summary>The saved state when it is for the same content and part size; otherwise none.</summary>
        public static UploadState? Load(string file, string sha256, long partSize)
        {
            try
            {
                var state = JsonSerializer.Deserialize<UploadState>(File.ReadAllBytes(file));
                return state is not null && state.Sha256 == sha256 && state.PartSize == partSize ? state : null;
            }
            catch (Exception ex) when (ex is IOException or JsonException or UnauthorizedAccessException)
            {
                return null;
            }
        }

        public void Save(string file)
        {
            lock (_gate)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(file)!);
                AtomicFile.Write(file, JsonSerializer.SerializeToUtf8Bytes(this));
            }
        }
    }
}
