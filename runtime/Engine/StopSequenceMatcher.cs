using System.Text;

namespace LlmInfra.Engine;

/// <summary>
/// Finds stop strings in streamed text. Text that could still turn into a stop string is held back, so a
/// client never receives part of a stop string.
/// </summary>
public sealed class StopSequenceMatcher(IReadOnlyList<string> stops)
{
    private readonly string[] _stops = stops.Where(s => s.Length > 0).ToArray();
    private readonly StringBuilder _pending = new();

    /// <summary>Adds a decoded piece; returns the text now safe to emit and whether a stop string was hit.</summary>
    public string Append(string piece, out bool stopped)
    {
        stopped = false;
        if (_stops.Length == 0)
            return piece;

        _pending.Append(piece);
        var text = _pending.ToString();
        var first = -1;
        foreach (var stop in _stops)
        {
            var at = text.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && (first < 0 || at < first)) first = at;
        }
        if (first >= 0)
        {
            _pending.Clear();
            stopped = true;
            return text[..first];
        }

        var hold = 0;
        foreach (var stop in _stops)
        {
            for (var k = Math.Min(stop.Length - 1, text.Length); k > hold; k--)
            {
                if (text.AsSpan(text.Length - k).SequenceEqual(stop.AsSpan(0, k)))
                {
                    hold = k;
                    break;
                }
            }
        }
        _pending.Clear().Append(text, text.Length - hold, hold);
        return text[..^hold];
    }

    /// <summary>Text held back when generation ends for another reason.</summary>
    public string Flush()
    {
        var rest = _pending.ToString();
        _pending.Clear();
        return rest;
    }
}
