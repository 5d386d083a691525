using System.Runtime.InteropServices;
using LlmInfra.ModelTool;

// Ctrl+C and SIGTERM (a pod being deleted) cancel the transfer instead of killing the process mid-write; an
// interrupted publish or fetch resumes on the next run.
using var cancel = new CancellationTokenSource();
void Stop(PosixSignalContext context)
{
    context.Cancel = true;
    cancel.Cancel();
}
using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
return await ModelToolCommand.RunAsync(args, Console.Out, Console.Error, cancel.Token);
