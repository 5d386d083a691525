using LlmInfra.DemoModel;
using LlmInfra.ModelTool;

namespace LlmInfra.Artifacts.Tests.Infrastructure;

/// <summary>Model folders the tests generate (the tiny demo model), and the llm-model command run in-process.</summary>
public static class ModelFolders
{
    /// <summary>Every folder of this test run; <see cref="DeleteAll"/> removes it when the store fixture is disposed.</summary>
    private static readonly string Root = Directory.CreateTempSubdirectory("llm-artifact-tests-").FullName;

    public static void DeleteAll() => Directory.Delete(Root, recursive: true);

    private static string NewFolder(string prefix) => Directory.CreateDirectory(Path.Combine(Root, $"{prefix}-{Guid.NewGuid():N}")).FullName;

    /// <summary>A fresh copy of the tiny GenAI model; with <paramref name="extraBytes"/>, plus an external-data-sized file.</summary>
    public static string NewModel(long extraBytes = 0)
    {
        var dir = NewFolder("model");
        DemoModelWriter.Write(DemoModelSpec.Tiny, dir);
        if (extraBytes > 0)
        {
            // Deterministic filler standing in for model.onnx.data: big enough for several multipart parts.
            var bytes = new byte[extraBytes];
            new Random(7).NextBytes(bytes);
            File.WriteAllBytes(Path.Combine(dir, "model.onnx.data"), bytes);
        }
        return dir;
    }

    public static string NewEmptyFolder() => NewFolder("target");

    /// <summary>Flips one bit of one byte in the middle of a file: same size, other content.</summary>
    public static void CorruptOneByte(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        stream.Position = stream.Length / 2;
        var b = stream.ReadByte();
        stream.Position = stream.Length / 2;
        stream.WriteByte((byte)(b ^ 0x01));
    }

    public static async Task<ToolRun> RunToolAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await ModelToolCommand.RunAsync(args, output, error);
        return new ToolRun(code, output.ToString(), error.ToString());
    }
}

public sealed record ToolRun(int Code, string Output, string Error)
{
    /// <summary>The error line ("error: ..."), the only one a failure prints besides progress.</summary>
    public string ErrorLine => Error.Split('\n').Select(l => l.Trim()).LastOrDefault(l => l.Length > 0) ?? "";

    public override string ToString() => $"exit {Code}\nstdout: {Output}\nstderr: {Error}";
}
