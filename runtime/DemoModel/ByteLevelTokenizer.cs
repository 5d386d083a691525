using System.Text.Json.Nodes;

namespace LlmInfra.DemoModel;

/// <summary>
/// Writes a Hugging Face byte-level BPE tokenizer (GPT-2 style) sized to the model's vocabulary:
/// 256 byte tokens, the special tokens, then synthetic two- and three-character merges until the vocabulary is full.
/// </summary>
public static class ByteLevelTokenizer
{
    public const string EndOfText = "<|endoftext|>";
    public static readonly string[] SpecialTokens = [EndOfText, "<|system|>", "<|user|>", "<|assistant|>", "<|end|>"];
    public const int EosId = 256;
    public static int MinVocabSize => 256 + SpecialTokens.Length;

    /// <summary>
    /// ChatML-like template; the server renders it through GenAI's template engine. With tools it lists them in a
    /// system turn and renders assistant tool calls as the JSON array the server's tool guidance makes the model write
    /// ([{"name": ..., "arguments": {...}}]); a tool result is a "tool" turn naming the call it answers.
    /// </summary>
    public const string ChatTemplate =
        "{% if tools %}{{ '<|system|>\nTo call tools, reply with only a JSON array of calls: [{\"name\": <tool name>, \"arguments\": <arguments object>}]. Tools: ' + (tools | tojson) + '<|end|>\n' }}{% endif %}" +
        "{% for message in messages %}{{ '<|' + message['role'] + '|>\n' }}" +
        "{% if message['tool_calls'] %}{{ '[' }}{% for call in message['tool_calls'] %}{% if not loop.first %}{{ ', ' }}{% endif %}" +
        "{{ '{\"name\": ' + (call['function']['name'] | tojson) + ', \"arguments\": ' + (call['function']['arguments'] | tojson) + '}' }}{% endfor %}{{ ']' }}" +
        "{% else %}{% if message['tool_call_id'] %}{{ '[' + message['tool_call_id'] + '] ' }}{% endif %}{{ message['content'] }}{% endif %}" +
        "{{ '<|end|>\n' }}{% endfor %}" +
        "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}";

    /// <summary>GPT-2's reversible byte-to-unicode table.</summary>
    public static char[] ByteToUnicode()
    {
        var map = new char[256];
        var direct = new bool[256];
        for (var b = '!'; b <= '~'; b++) direct[b] = true;
        for (var b = 0xA1; b <= 0xAC; b++) direct[b] = true;
        for (var b = 0xAE; b <= 0xFF; b++) direct[b] = true;
        var n = 0;
        for (var b = 0; b < 256; b++)
            map[b] = direct[b] ? (char)b : (char)(256 + n++);
        return map;
    }

    /// <summary>True for ids that decode to text a person can read (printable ASCII bytes and merges of them).</summary>
    public static bool IsPrintable(int id) => id is >= 32 and < 127 || id >= MinVocabSize;

    public static (string TokenizerJson, string TokenizerConfigJson) Build(int vocabSize)
    {
        var b2u = ByteToUnicode();
        var vocab = new JsonObject();
        for (var b = 0; b < 256; b++) vocab[b2u[b].ToString()] = b;
        for (var i = 0; i < SpecialTokens.Length; i++) vocab[SpecialTokens[i]] = 256 + i;

        // Merges of printable ASCII pairs; lower-case letters and space first so common text compresses a little.
        var alphabet = " etaoinshrdlucmfwypvbgkjqxz".Select(c => (byte)c)
            .Concat(Enumerable.Range(33, 94).Select(i => (byte)i).Where(c => c is < (byte)'a' or > (byte)'z'))
            .Distinct().Select(c => b2u[c].ToString()).ToArray();
        var merges = new JsonArray();
        var id = MinVocabSize;
        // Two-character merges first, then three-character ones (pair + character) for large vocabularies.
        var pairs = alphabet.SelectMany(l => alphabet.Select(r => (Left: l, Right: r)));
        var triples = alphabet.SelectMany(l => alphabet.Select(r => l + r)).SelectMany(l => alphabet.Select(r => (Left: l, Right: r)));
        foreach (var (left, right) in pairs.Concat(triples))
        {
            if (id >= vocabSize) break;
            vocab[left + right] = id++;
            merges.Add($"{left} {right}");
        }
        if (id < vocabSize)
            throw new ArgumentOutOfRangeException(nameof(vocabSize), $"VocabSize at most {id} is supported.");

        var added = new JsonArray();
        for (var i = 0; i < SpecialTokens.Length; i++)
        {
            added.Add(new JsonObject
            {
                ["id"] = 256 + i, ["content"] = SpecialTokens[i], ["single_word"] = false, ["lstrip"] = false,
                ["rstrip"] = false, ["normalized"] = false, ["special"] = true,
            });
        }
        var byteLevel = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = true };
        var tokenizer = new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = added,
            ["normalizer"] = null,
            ["pre_tokenizer"] = byteLevel.DeepClone(),
            ["post_processor"] = null,
            ["decoder"] = byteLevel.DeepClone(),
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = null, ["continuing_subword_prefix"] = "",
                ["end_of_word_suffix"] = "", ["fuse_unk"] = false, ["byte_fallback"] = false,
                ["vocab"] = vocab, ["merges"] = merges,
            },
        };
        var config = new JsonObject
        {
            ["tokenizer_class"] = "GPT2Tokenizer",
            ["bos_token"] = EndOfText,
            ["eos_token"] = EndOfText,
            ["pad_token"] = EndOfText,
            ["unk_token"] = EndOfText,
            ["add_bos_token"] = false,
            ["model_max_length"] = 1 << 20,
            ["chat_template"] = ChatTemplate,
        };
        return (tokenizer.ToJsonString(), config.ToJsonString());
    }

}
