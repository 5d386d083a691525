namespace LlmInfra.Artifacts;

/// <summary>
/// The fetch step's bookkeeping in the target folder: files download to "&lt;name&gt;.partial" and are renamed when
/// whole; <see cref="FileName"/> is written last, holding the digest, once every file has been verified. A folder
/// without it is never complete, so a restarted pod or Job resumes instead of serving a partial copy.
/// </summary>
public static class FetchMarker
{
    public const string FileName = ".llm-model-complete";
    public const string PartialSuffix = ".partial";

    /// <summary>The digest the folder was completed with, or null when it is not complete.</summary>
    public static string? Read(string folder)
    {
        var path = Path.Combine(folder, FileName);
        return File.Exists(path) ? File.ReadAllText(path).Trim() : null;
    }

    public static void Write(string folder, string digest) => AtomicFile.Write(Path.Combine(folder, FileName), System.Text.Encoding.ASCII.GetBytes(digest + "\n"));

    public static void Clear(string folder) => File.Delete(Path.Combine(folder, FileName));
}
