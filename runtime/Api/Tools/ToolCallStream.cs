using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace LlmInfra.Runtime.Api.Tools;

/// <summary>A piece of a reply as it streams: text, or part of a tool call (the first part carries id and name).</summary>
public sealed record ReplyDelta(string? Text, ToolCallDelta? ToolCall);

/// <summary>
/// Reads a reply as it is generated and splits it into text or tool calls, in the form the tool guidance
/// makes the model write: [{"name":"f","arguments":{...}}, ...]. Under tool_choice auto the first character tells:
/// '[' opens calls, anything else is text. Arguments stream as they come, as OpenAI's tool_call deltas do.
/// </summary>
public sealed partial class ToolCallStream
{
    private enum State { Deciding, Text, Open, Header, Arguments, CloseCall, AfterCall, Done, Invalid }

    private readonly StringBuilder _raw = new();
    private readonly StringBuilder _header = new();
    private readonly StringBuilder _arguments = new();
    private readonly List<ToolCall> _calls = [];
    private State _state;
    private int _depth;
    private bool _inString;
    private bool _escaped;
    private string? _id;
    private string? _name;

    /// <param name="toolsOnly">True when the reply must be tool calls (tool_choice required or named).</param>
    public ToolCallStream(bool toolsOnly) => _state = toolsOnly ? State.Open : State.Deciding;

    /// <summary>Everything generated so far, as text.</summary>
    public string Raw => _raw.ToString();

    /// <summary>True once the reply turned out to be tool calls.</summary>
    public bool IsToolCalls => _state is not (State.Deciding or State.Text);

    /// <summary>True when the call list is complete and well formed.</summary>
    public bool Complete => _state == State.Done;

    public IReadOnlyList<ToolCall> Calls => _calls;

    public List<ReplyDelta> Append(string piece)
    {
        var deltas = new List<ReplyDelta>();
        _raw.Append(piece);
        var text = new StringBuilder();
        var args = new StringBuilder();
        foreach (var c in piece)
        {
            switch (_state)
            {
                case State.Deciding:
                    _state = c == '[' ? State.Open : State.Text;
                    if (_state == State.Open) Next(c);
                    else text.Append(c);
                    break;
                case State.Text:
                    text.Append(c);
                    break;
                case State.Arguments:
                    args.Append(c);
                    _arguments.Append(c);
                    if (Scan(c) && _depth == 0)
                    {
                        Flush(deltas, args);
                        _calls.Add(new ToolCall(_id!, "function", new FunctionCall(_name!, _arguments.ToString())));
                        _state = State.CloseCall;
                    }
                    break;
                default:
                    Next(c);
                    if (_state == State.Arguments) deltas.Add(new ReplyDelta(null, new ToolCallDelta(_calls.Count, _id, "function", new FunctionCallDelta(_name, ""))));
                    break;
            }
        }
        if (text.Length > 0) deltas.Add(new ReplyDelta(text.ToString(), null));
        Flush(deltas, args);
        return deltas;
    }

    private void Flush(List<ReplyDelta> deltas, StringBuilder args)
    {
        if (args.Length == 0) return;
        deltas.Add(new ReplyDelta(null, new ToolCallDelta(_calls.Count, null, null, new FunctionCallDelta(null, args.ToString()))));
        args.Clear();
    }

    /// <summary>The structure around the arguments: '[', '{"name":"f","arguments":', '}', ',' and ']'.</summary>
    private void Next(char c)
    {
        if (char.IsWhiteSpace(c) && _state != State.Header) return;
        switch (_state)
        {
            case State.Open:
                _state = c == '[' ? State.AfterCall : State.Invalid;
                _expectCall = true;
                break;
            case State.CloseCall:
                _state = c == '}' ? State.AfterCall : State.Invalid;
                break;
            case State.AfterCall when _expectCall && c == '{':
                _expectCall = false;
                _header.Clear().Append(c);
                _state = State.Header;
                break;
            case State.AfterCall when !_expectCall && c == ',':
                _expectCall = true;
                break;
            case State.AfterCall when !_expectCall && c == ']':
                _state = State.Done;
                break;
            case State.Header:
                _header.Append(c);
                if (c == ':' && HeaderPattern().Match(_header.ToString()) is { Success: true } m)
                {
                    _name = m.Groups[1].Value;
                    _id = NewId();
                    _arguments.Clear();
                    _depth = 0;
                    _inString = _escaped = false;
                    _state = State.Arguments;
                }
                else if (_header.Length > 200)
                {
                    _state = State.Invalid;
                }
                break;
            case State.Done:
                if (!char.IsWhiteSpace(c)) _state = State.Invalid;
                break;
            case State.Invalid:
                break;
            default:
                _state = State.Invalid;
                break;
        }
    }

    private bool _expectCall;

    /// <summary>Tracks JSON nesting inside the arguments value; true when <paramref name="c"/> changed the depth to its final value.</summary>
    private bool Scan(char c)
    {
        if (_inString)
        {
            if (_escaped) _escaped = false;
            else if (c == '\\') _escaped = true;
            else if (c == '"') _inString = false;
            return false;
        }
        switch (c)
        {
            case '"':
                _inString = true;
                return false;
            case '{' or '[':
                _depth++;
                return false;
            case '}' or ']':
                _depth--;
                return true;
            default:
                return false;
        }
    }

    [GeneratedRegex("""^\{\s*"name"\s*:\s*"([a-zA-Z0-9_-]{1,64})"\s*,\s*"arguments"\s*:$""")]
    private static partial Regex HeaderPattern();

    /// <summary>call_ and 24 random letters and digits, like OpenAI's ids.</summary>
    public static string NewId() => "call_" + RandomNumberGenerator.GetString("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 24);
}
