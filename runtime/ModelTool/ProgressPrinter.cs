using System.Diagnostics;
using System.Globalization;
using LlmInfra.Artifacts;

namespace LlmInfra.ModelTool;

/// <summary>
/// Progress on stderr: a bar redrawn in place on a terminal, and on a log (CI, a pod) one line per 10% or per
/// 30 seconds, so a 40 GB transfer shows it is alive without flooding the log.
/// </summary>
internal sealed class ProgressPrinter : ITransferReporter, IProgress<long>, IDisposable
{
    private readonly TextWriter _error;
    private readonly bool _terminal;
    private readonly Lock _gate = new();
    private readonly Stopwatch _clock = new();
    private string _phase = "";
    private long _total;
    private long _done;
    private int _lastDecile = -1;
    private TimeSpan _lastPrint;
    private bool _open;

    public ProgressPrinter(TextWriter error)
    {
        _error = error;
        _terminal = ReferenceEquals(error, Console.Error) && !Console.IsErrorRedirected;
    }

    public IProgress<long> Bytes => this;

    public void Phase(string name, long totalBytes)
    {
        lock (_gate)
        {
            EndLine();
            _phase = name;
            _total = totalBytes;
            _done = 0;
            _lastDecile = -1;
            _clock.Restart();
            _lastPrint = TimeSpan.Zero;
            if (totalBytes > 0) Print(force: true);
        }
    }

    public void Report(long value)
    {
        lock (_gate)
        {
            _done += value;
            if (_total > 0) Print(force: false);
        }
    }

    public void Note(string message)
    {
        lock (_gate)
        {
            EndLine();
            _error.WriteLine(message);
        }
    }

    public void Done(string message) => Note(message);

    private void Print(bool force)
    {
        var elapsed = _clock.Elapsed;
        var fraction = _total > 0 ? Math.Min(1.0, (double)_done / _total) : 1.0;
        var decile = (int)(fraction * 10);
        if (_terminal)
        {
            if (!force && elapsed - _lastPrint < TimeSpan.FromMilliseconds(200) && _done < _total) return;
            var bar = new string('#', (int)(fraction * 30)).PadRight(30);
            _error.Write($"\r{_phase,-8} [{bar}] {Percent(fraction),4} {Size(_done)}/{Size(_total)} {Rate(elapsed)}   ");
            _open = true;
        }
        else
        {
            if (!force && decile == _lastDecile && elapsed - _lastPrint < TimeSpan.FromSeconds(30)) return;
            _error.WriteLine($"{_phase}: {Percent(fraction)} {Size(_done)}/{Size(_total)} {Rate(elapsed)}".TrimEnd());
        }
        _lastDecile = decile;
        _lastPrint = elapsed;
    }

    private static string Percent(double fraction) => string.Create(CultureInfo.InvariantCulture, $"{fraction * 100:0}%");

    private string Rate(TimeSpan elapsed) => elapsed.TotalSeconds < 0.5 ? "" : $"{Size((long)(_done / elapsed.TotalSeconds))}/s";

    private void EndLine()
    {
        if (!_open) return;
        _error.WriteLine();
        _open = false;
    }

    public static string Size(long bytes) => bytes switch
    {
        >= 1L << 30 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 30):0.00} GiB"),
        >= 1L << 20 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 20):0.0} MiB"),
        >= 1L << 10 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 10):0.0} KiB"),
        _ => $"{bytes} B",
    };

    public void Dispose()
    {
        lock (_gate) EndLine();
    }
}
