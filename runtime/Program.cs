using LlmInfra.Runtime.Hosting;

namespace LlmInfra.Runtime;

public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        var parsed = RuntimeCommandLine.Parse(args);
        if (parsed.ExitCode is int code) return code;
        return await RuntimeCommandLine.RunAsync(parsed.Settings!, parsed.PassThrough);
    }
}
