namespace LlmInfra.Artifacts;

/// <summary>
/// An artifact that is not what it should be (missing, tampered, partial, wrong digest) or a store that refuses.
/// The message is one line and names the file or object; <see cref="File"/> is that file, relative to the folder.
/// </summary>
public sealed class ArtifactException(string message, string? file = null, Exception? inner = null) : Exception(message, inner)
{
    public string? File { get; } = file;
}
