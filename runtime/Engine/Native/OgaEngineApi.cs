using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntimeGenAI;

namespace LlmInfra.Engine.Native;

/// <summary>
/// The Engine calls of GenAI's C API (ort_genai_c.h, 0.18.0), which the managed wrapper does not expose. Only what the
/// runtime uses. Every call but the Destroy* ones must run on the engine's owner thread (see <see cref="GenAIEngine"/>).
/// </summary>
internal static partial class OgaEngineApi
{
    private const string Library = "onnxruntime-genai";

    [LibraryImport(Library)] internal static partial IntPtr OgaResultGetError(IntPtr result);
    [LibraryImport(Library)] internal static partial void OgaDestroyResult(IntPtr result);

    [LibraryImport(Library)] internal static partial IntPtr OgaCreateEngine(IntPtr model, out IntPtr engine);
    [LibraryImport(Library)] internal static partial void OgaDestroyEngine(IntPtr engine);
    [LibraryImport(Library)] internal static partial IntPtr OgaEngineGetCapabilities(EngineHandle engine, out IntPtr capabilities);
    [LibraryImport(Library)] internal static partial nuint OgaEngineCapabilitiesGetConfiguredMaxBatchSize(IntPtr capabilities);
    [LibraryImport(Library)] internal static partial nuint OgaEngineCapabilitiesGetMaxScheduledTokens(IntPtr capabilities);
    [LibraryImport(Library)] internal static partial ulong OgaEngineCapabilitiesGetMaxRequestLength(IntPtr capabilities);
    [LibraryImport(Library)] internal static partial void OgaDestroyEngineCapabilities(IntPtr capabilities);

    [LibraryImport(Library)] internal static partial IntPtr OgaCreateEngineEventBuffer(EngineHandle engine, nuint capacity, out IntPtr buffer);
    [LibraryImport(Library)] internal static partial void OgaDestroyEngineEventBuffer(IntPtr buffer);
    [LibraryImport(Library)] internal static partial IntPtr OgaEngineRun(EngineHandle engine, EventBufferHandle buffer);
    [LibraryImport(Library)] internal static partial nuint OgaEngineEventBufferGetCount(EventBufferHandle buffer);
    [LibraryImport(Library)] internal static partial IntPtr OgaEngineEventBufferGet(EventBufferHandle buffer, nuint index);
    [LibraryImport(Library)] internal static partial IntPtr OgaEngineEventGetFlags(IntPtr engineEvent, out uint flags);
    [LibraryImport(Library)] internal static partial IntPtr OgaEngineEventGetRequest(IntPtr engineEvent, out IntPtr request);
    [LibraryImport(Library)] internal static partial IntPtr OgaEngineEventGetTurnId(IntPtr engineEvent, out ulong turnId);
    [LibraryImport(Library)] internal static partial IntPtr OgaEngineEventGetToken(IntPtr engineEvent, out int token);
    [LibraryImport(Library)] internal static partial IntPtr OgaEngineEventGetFinishReason(IntPtr engineEvent, out uint reason);
    [LibraryImport(Library)] internal static partial IntPtr OgaEngineEventGetMatchedStopStringIndex(IntPtr engineEvent, out int index);
    [LibraryImport(Library)] internal static partial IntPtr OgaEngineEventGetErrorCode(IntPtr engineEvent, out uint code);
    [LibraryImport(Library)] internal static partial IntPtr OgaEngineEventGetUsage(IntPtr engineEvent, out IntPtr usage);
    [LibraryImport(Library)] internal static partial IntPtr OgaTurnUsageGetPromptTokens(IntPtr usage, out ulong count);
    [LibraryImport(Library)] internal static partial IntPtr OgaTurnUsageGetGeneratedTokens(IntPtr usage, out ulong count);
    [LibraryImport(Library)] internal static partial IntPtr OgaTurnUsageGetCachedPromptTokens(IntPtr usage, out ulong count);
    [LibraryImport(Library)] internal static partial IntPtr OgaEngineHasPendingRequests(EngineHandle engine, [MarshalAs(UnmanagedType.U1)] out bool pending);

    [LibraryImport(Library)] internal static partial IntPtr OgaEngineCreateRequest(EngineHandle engine, IntPtr options, out IntPtr request);
    [LibraryImport(Library)] internal static partial void OgaDestroyRequest(IntPtr request);
    [LibraryImport(Library)] internal static partial IntPtr OgaRequestCreateTurnOptions(RequestHandle request, out IntPtr options);
    [LibraryImport(Library)] internal static partial void OgaDestroyTurnOptions(IntPtr options);
    [LibraryImport(Library)] internal static partial IntPtr OgaTurnOptionsSetMaxGeneratedTokens(TurnOptionsHandle options, ulong max);
    [LibraryImport(Library)] internal static partial IntPtr OgaTurnOptionsSetDoSample(TurnOptionsHandle options, [MarshalAs(UnmanagedType.U1)] bool doSample);
    [LibraryImport(Library)] internal static partial IntPtr OgaTurnOptionsSetTemperature(TurnOptionsHandle options, float temperature);
    [LibraryImport(Library)] internal static partial IntPtr OgaTurnOptionsSetTopP(TurnOptionsHandle options, float topP);
    [LibraryImport(Library)] internal static partial IntPtr OgaTurnOptionsSetTopK(TurnOptionsHandle options, int topK);
    [LibraryImport(Library)] internal static partial IntPtr OgaTurnOptionsSetSeed(TurnOptionsHandle options, ulong seed);
    [LibraryImport(Library)] internal static partial IntPtr OgaTurnOptionsSetStopStrings(TurnOptionsHandle options, IntPtr stopStrings);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial IntPtr OgaTurnOptionsSetGuidance(TurnOptionsHandle options, string type, string data);
    [LibraryImport(Library)] internal static unsafe partial IntPtr OgaRequestBeginTurn(RequestHandle request, TurnOptionsHandle options, int* inputIds, ulong count, out ulong turnId);
    [LibraryImport(Library)] internal static partial IntPtr OgaRequestCancelTurn(RequestHandle request, ulong turnId, [MarshalAs(UnmanagedType.U1)] out bool cancelled);
    [LibraryImport(Library)] internal static partial IntPtr OgaRequestClose(RequestHandle request);

    [LibraryImport(Library)] internal static partial IntPtr OgaCreateStringArray(out IntPtr array);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial IntPtr OgaStringArrayAddString(IntPtr array, string value);
    [LibraryImport(Library)] internal static partial void OgaDestroyStringArray(IntPtr array);

    /// <summary>Turns a non-null OgaResult into an exception carrying the native message, and frees it.</summary>
    internal static void Check(IntPtr result)
    {
        if (result == IntPtr.Zero) return;
        try
        {
            var message = Marshal.PtrToStringUTF8(OgaResultGetError(result)) ?? "unknown error";
            throw new GenAIEngineException(message);
        }
        finally
        {
            OgaDestroyResult(result);
        }
    }

    /// <summary>The native model behind a managed <see cref="Model"/> (the wrapper keeps it internal).</summary>
    [UnsafeAccessor(UnsafeAccessorKind.Method, Name = "get_Handle")]
    internal static extern IntPtr ModelHandle(Model model);
}

/// <summary>An error reported by GenAI's Engine API; the message is the native one.</summary>
public sealed class GenAIEngineException(string message) : Exception(message);

/// <summary>An owned GenAI object; each subclass names its Destroy call.</summary>
internal abstract class OgaHandle() : SafeHandle(IntPtr.Zero, ownsHandle: true)
{
    public override bool IsInvalid => handle == IntPtr.Zero;

    internal static T Wrap<T>(IntPtr value) where T : OgaHandle, new()
    {
        var h = new T();
        h.SetHandle(value);
        return h;
    }
}

internal sealed class EngineHandle : OgaHandle
{
    protected override bool ReleaseHandle()
    {
        OgaEngineApi.OgaDestroyEngine(handle);
        return true;
    }
}

internal sealed class EventBufferHandle : OgaHandle
{
    protected override bool ReleaseHandle()
    {
        OgaEngineApi.OgaDestroyEngineEventBuffer(handle);
        return true;
    }
}

/// <summary>Releasing the last request handle from any thread is allowed: the engine reclaims it on its owner thread.</summary>
internal sealed class RequestHandle : OgaHandle
{
    protected override bool ReleaseHandle()
    {
        OgaEngineApi.OgaDestroyRequest(handle);
        return true;
    }
}

internal sealed class TurnOptionsHandle : OgaHandle
{
    protected override bool ReleaseHandle()
    {
        OgaEngineApi.OgaDestroyTurnOptions(handle);
        return true;
    }
}
