using System.Globalization;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;

namespace LlmInfra.DemoModel;

/// <summary>
/// Builds a GPT-style decoder as an ONNX graph with GenAI's default input/output names. The plain variant's attention
/// uses com.microsoft GroupQueryAttention so GenAI can share the past/present KV buffer, which batching and appending
/// tokens to a running generator need. The paged variant follows the Engine's packed/paged contract (dynamic batching).
/// </summary>
internal sealed class DecoderGraph
{
    private const int FloatType = 1;
    private const int Int32Type = 6;
    private const int Int64Type = 7;

    private readonly DemoModelSpec _spec;
    private readonly GraphProto _graph = new() { Name = "demo-decoder" };
    private GraphProto _target; // where Node adds to: the graph, or an If branch being built
    private readonly WeightRandom _random;

    private DecoderGraph(DemoModelSpec spec)
    {
        _spec = spec;
        _random = new WeightRandom(spec.Seed);
        _target = _graph;
    }

    public static ModelProto Build(DemoModelSpec spec)
    {
        spec.Validate();
        var builder = new DecoderGraph(spec);
        builder.BuildGraph();
        var model = new ModelProto
        {
            IrVersion = 8,
            ProducerName = "llminfra-demo-model",
            Graph = builder._graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "com.microsoft", Version = 1 });
        return model;
    }

    private void BuildGraph()
    {
        var s = _spec;
        var paged = s.Paged is not null;
        if (paged) PagedInputs();
        else PlainInputs();

        Weight("embed_tokens", [s.VocabSize, s.HiddenSize], 1.0f);
        Weight("embed_positions", [s.ContextLength, s.HiddenSize], 0.5f);
        Node("Gather", ["embed_tokens", "input_ids"], ["tok_emb"], ("axis", 0L));
        Node("Gather", ["embed_positions", paged ? "positions" : "position_ids"], ["pos_emb"], ("axis", 0L));
        Node("Add", ["tok_emb", "pos_emb"], ["h0"]);

        var x = "h0";
        var kvDim = s.KvHeads * s.HeadSize;
        var projScale = 1.0f / MathF.Sqrt(s.HiddenSize);
        for (var i = 0; i < s.Layers; i++)
        {
            var p = $"layers.{i}";
            var ln1 = LayerNorm($"{p}.ln1", x);
            Node("MatMul", [ln1, Weight($"{p}.q", [s.HiddenSize, s.HiddenSize], projScale)], [$"{p}.q_out"]);
            Node("MatMul", [ln1, Weight($"{p}.k", [s.HiddenSize, kvDim], projScale)], [$"{p}.k_out"]);
            Node("MatMul", [ln1, Weight($"{p}.v", [s.HiddenSize, kvDim], projScale)], [$"{p}.v_out"]);
            if (paged) PagedAttention(i, p);
            else PlainAttention(i, p);
            Node("MatMul", [$"{p}.attn", Weight($"{p}.o", [s.HiddenSize, s.HiddenSize], projScale)], [$"{p}.o_out"]);
            Node("Add", [x, $"{p}.o_out"], [$"{p}.res1"]);

            var ln2 = LayerNorm($"{p}.ln2", $"{p}.res1");
            Node("MatMul", [ln2, Weight($"{p}.fc1", [s.HiddenSize, s.FeedForwardSize], projScale)], [$"{p}.fc1_out"]);
            Node("Relu", [$"{p}.fc1_out"], [$"{p}.act"]);
            Node("MatMul", [$"{p}.act", Weight($"{p}.fc2", [s.FeedForwardSize, s.HiddenSize], 1.0f / MathF.Sqrt(s.FeedForwardSize))], [$"{p}.fc2_out"]);
            Node("Add", [$"{p}.res1", $"{p}.fc2_out"], [$"{p}.out"]);
            x = $"{p}.out";
        }

        if (paged)
        {
            // One logits row per request (the engine reads a first dimension named batch_size that way): the
            // hidden state of each request's last packed token.
            Node("Gather", [x, "last_token"], ["last_hidden"], ("axis", 0L));
            x = "last_hidden";
        }
        var lnf = LayerNorm("final_ln", x);
        // Scale 3/sqrt(H) gives logits with a spread of a few units: varied text, yet greedy is stable.
        Node("MatMul", [lnf, Weight("lm_head", [s.HiddenSize, s.VocabSize], 3.0f / MathF.Sqrt(s.HiddenSize))], ["raw_logits"]);
        Node("Add", ["raw_logits", LogitBias()], ["logits"]);
    }

    /// <summary>GenAI's default decoder inputs and the GroupQueryAttention lengths.</summary>
    private void PlainInputs()
    {
        var s = _spec;
        AddInput("input_ids", Int64Type, "batch_size", "sequence_length");
        AddInput("attention_mask", Int64Type, "batch_size", "total_sequence_length");
        AddInput("position_ids", Int64Type, "batch_size", "sequence_length");
        AddOutput("logits", FloatType, "batch_size", "sequence_length", D(s.VocabSize));

        // GroupQueryAttention wants seqlens_k = tokens seen - 1 per row and the total length as int32 scalars.
        Const("one_i64", Int64Type, [], [1]);
        Const("axis1_i64", Int64Type, [1], [1]);
        Node("ReduceSum", ["attention_mask", "axis1_i64"], ["mask_sum"], ("keepdims", 0L));
        Node("Sub", ["mask_sum", "one_i64"], ["seqlens_k_i64"]);
        Node("Cast", ["seqlens_k_i64"], ["seqlens_k"], ("to", (long)Int32Type));
        Node("Shape", ["attention_mask"], ["mask_shape"]);
        Const("idx1_i64", Int64Type, [], [1]);
        Node("Gather", ["mask_shape", "idx1_i64"], ["total_len_i64"], ("axis", 0L));
        Node("Cast", ["total_len_i64"], ["total_len"], ("to", (long)Int32Type));
    }

    private void PlainAttention(int i, string p)
    {
        var s = _spec;
        AddInput($"past_key_values.{i}.key", FloatType, "batch_size", D(s.KvHeads), "past_sequence_length", D(s.HeadSize));
        AddInput($"past_key_values.{i}.value", FloatType, "batch_size", D(s.KvHeads), "past_sequence_length", D(s.HeadSize));
        AddOutput($"present.{i}.key", FloatType, "batch_size", D(s.KvHeads), "total_sequence_length", D(s.HeadSize));
        AddOutput($"present.{i}.value", FloatType, "batch_size", D(s.KvHeads), "total_sequence_length", D(s.HeadSize));
        var gqa = Node("GroupQueryAttention",
            [$"{p}.q_out", $"{p}.k_out", $"{p}.v_out", $"past_key_values.{i}.key", $"past_key_values.{i}.value", "seqlens_k", "total_len"],
            [$"{p}.attn", $"present.{i}.key", $"present.{i}.value"],
            ("num_heads", (long)s.Heads), ("kv_num_heads", (long)s.KvHeads));
        gqa.Domain = "com.microsoft";
    }

    /// <summary>
    /// The Engine's packed/paged decoder inputs, and what every layer's attention shares: each packed token's
    /// request and position, the (block, offset) slot it writes, and the slots each request reads. Invisible slots
    /// (past a request's length, unused -1 table entries) are pointed at the request's first slot, which is always
    /// written: the pool starts uninitialised, and a garbage value times a zero weight can still be NaN.
    /// </summary>
    private void PagedInputs()
    {
        var s = _spec;
        var bs = (long)s.Paged!.BlockSize;
        AddInput("input_ids", Int64Type, "num_tokens");
        AddInput("cumulative_sequence_lengths", Int32Type, "batch_size_plus_1");
        AddInput("past_sequence_lengths", Int32Type, "batch_size");
        AddInput("block_table", Int32Type, "block_table_rows", "max_blocks_per_sequence");
        AddOutput("logits", FloatType, "batch_size", D(s.VocabSize));

        Const("zero", Int64Type, [], [0]);
        Const("one", Int64Type, [], [1]);
        Const("block_size", Int64Type, [], [bs]);
        Const("ax0", Int64Type, [1], [0]);
        Const("ax1", Int64Type, [1], [1]);
        Const("ax2", Int64Type, [1], [2]);
        Const("ax_last", Int64Type, [1], [-1]);
        Const("i64_max", Int64Type, [1], [long.MaxValue]);
        Const("shape_flat", Int64Type, [1], [-1]);

        Node("Cast", ["cumulative_sequence_lengths"], ["cu"], ("to", (long)Int64Type));
        Node("Cast", ["past_sequence_lengths"], ["past"], ("to", (long)Int64Type));
        Node("Cast", ["block_table"], ["table"], ("to", (long)Int64Type));
        Node("Slice", ["cu", "ax1", "i64_max"], ["cu_end"]);
        Node("Slice", ["cu", "ax0", "ax_last"], ["cu_start"]);
        Node("Sub", ["cu_end", "one"], ["last_token"]);
        Node("Sub", ["cu_end", "cu_start"], ["query_len"]);
        Node("Add", ["past", "query_len"], ["total_len"]);

        // Per packed token t: its request (how many request ends are <= t) and its position.
        Node("Shape", ["input_ids"], ["num_tokens_1d"]);
        Node("Squeeze", ["num_tokens_1d", "ax0"], ["num_tokens"]);
        Node("Range", ["zero", "num_tokens", "one"], ["token_index"]);
        Node("Unsqueeze", ["token_index", "ax1"], ["token_index_col"]);
        Node("GreaterOrEqual", ["token_index_col", "cu_end"], ["after_end"]);
        Node("Cast", ["after_end"], ["after_end_i64"], ("to", (long)Int64Type));
        Node("ReduceSum", ["after_end_i64", "ax1"], ["token_request"], ("keepdims", 0L));
        Node("Gather", ["past", "token_request"], ["token_past"], ("axis", 0L));
        Node("Gather", ["cu_start", "token_request"], ["token_start"], ("axis", 0L));
        Node("Sub", ["token_index", "token_start"], ["token_offset"]);
        Node("Add", ["token_past", "token_offset"], ["positions"]);

        // The slot each token writes: (block_table[request, position / block_size], position % block_size).
        Node("Div", ["positions", "block_size"], ["write_column"]);
        Node("Mod", ["positions", "block_size"], ["write_offset"]);
        Node("Unsqueeze", ["token_request", "ax1"], ["token_request_col"]);
        Node("Unsqueeze", ["write_column", "ax1"], ["write_column_col"]);
        Node("Concat", ["token_request_col", "write_column_col"], ["table_index"], ("axis", 1L));
        Node("GatherND", ["table", "table_index"], ["write_block"]);
        Node("Unsqueeze", ["write_block", "ax1"], ["write_block_col"]);
        Node("Unsqueeze", ["write_offset", "ax1"], ["write_offset_col"]);
        Node("Concat", ["write_block_col", "write_offset_col"], ["write_slot"], ("axis", 1L));

        // The slots each request reads, positions 0..L-1 with L the longest request in this step.
        Node("Shape", ["past"], ["batch_1d"]);
        Node("Squeeze", ["batch_1d", "ax0"], ["batch"]);
        Node("ReduceMax", ["total_len"], ["max_len"], ("keepdims", 0L));
        Node("Range", ["zero", "max_len", "one"], ["kv_position"]);
        Node("Div", ["kv_position", "block_size"], ["read_column"]);
        Node("Mod", ["kv_position", "block_size"], ["read_offset"]);
        Node("Slice", ["table", "ax0", "batch_1d", "ax0"], ["request_table"]);
        Node("Gather", ["request_table", "read_column"], ["read_block_raw"], ("axis", 1L));
        Node("Unsqueeze", ["total_len", "ax1"], ["total_len_col"]);
        Node("Less", ["kv_position", "total_len_col"], ["kv_visible"]); // [batch, L]: decode steps' mask too
        Node("Gather", ["request_table", "zero"], ["first_block"], ("axis", 1L));
        Node("Unsqueeze", ["first_block", "ax1"], ["first_block_col"]);
        Node("Where", ["kv_visible", "read_block_raw", "first_block_col"], ["read_block"]);
        Node("Where", ["kv_visible", "read_offset", "zero"], ["read_offset_safe"]);
        Node("Unsqueeze", ["read_block", "ax2"], ["read_block_3d"]);
        Node("Unsqueeze", ["read_offset_safe", "ax2"], ["read_offset_3d"]);
        Node("Concat", ["read_block_3d", "read_offset_3d"], ["read_slot"], ("axis", 2L)); // [batch, L, 2]

        // Decode steps (one token per request, so token t is request t) read per request; other steps (prefill,
        // mixed) score every token against all requests' slots at once and mask to the token's own request, which
        // needs no per-token copy of the keys (quadratic in a long prompt).
        Node("Equal", ["num_tokens", "batch"], ["decode_only"]);
        Node("Reshape", ["read_slot", "shape_flat_pair"], ["read_slot_flat"]);
        Const("shape_flat_pair", Int64Type, [2], [-1, 2]);
        Node("Range", ["zero", "batch", "one"], ["request_index"]);
        Node("Unsqueeze", ["token_request", "ax1"], ["token_request_b"]);
        Node("Equal", ["token_request_b", "request_index"], ["own_request"]); // [N, batch]
        Node("Unsqueeze", ["positions", "ax1"], ["positions_col"]);
        Node("LessOrEqual", ["kv_position", "positions_col"], ["causal"]); // [N, L]
        Node("Unsqueeze", ["own_request", "ax2"], ["own_request_3d"]);
        Node("Unsqueeze", ["causal", "ax1"], ["causal_3d"]);
        Node("And", ["own_request_3d", "causal_3d"], ["joint_visible_3d"]);
        Const("shape_rows_flat", Int64Type, [2], [0, -1]);
        Node("Reshape", ["joint_visible_3d", "shape_rows_flat"], ["joint_visible"]); // [N, batch * L]
        Const("decode_mask_shape", Int64Type, [4], [0, 1, 1, -1]);
        Node("Reshape", ["kv_visible", "decode_mask_shape"], ["decode_visible"]); // [batch, 1, 1, L]

        var g = s.Heads / s.KvHeads;
        Const("q_shape", Int64Type, [4], [0, s.KvHeads, g, s.HeadSize]);
        Const("kv_shape", Int64Type, [3], [0, s.KvHeads, s.HeadSize]);
        Const("attn_shape", Int64Type, [2], [0, s.HiddenSize]);
        AddInitializer("attn_scale", [], [1.0f / MathF.Sqrt(s.HeadSize)]);
        AddInitializer("masked", [], [-1e9f]);
    }

    /// <summary>Writes this step's K/V in place (ScatterND output = present = the engine's shared pool) and attends.</summary>
    private void PagedAttention(int i, string p)
    {
        var s = _spec;
        var bs = D(s.Paged!.BlockSize);
        AddInput($"past_key_values.{i}.key", FloatType, "num_blocks", bs, D(s.KvHeads), D(s.HeadSize));
        AddInput($"past_key_values.{i}.value", FloatType, "num_blocks", bs, D(s.KvHeads), D(s.HeadSize));
        AddOutput($"present.{i}.key", FloatType, "num_blocks", bs, D(s.KvHeads), D(s.HeadSize));
        AddOutput($"present.{i}.value", FloatType, "num_blocks", bs, D(s.KvHeads), D(s.HeadSize));
        Node("Reshape", [$"{p}.k_out", "kv_shape"], [$"{p}.k_new"]);
        Node("Reshape", [$"{p}.v_out", "kv_shape"], [$"{p}.v_new"]);
        // ScatterND straight into the graph output: the engine binds past and present to one buffer, so ONNX Runtime
        // writes the new slots in place instead of copying the pool.
        Node("ScatterND", [$"past_key_values.{i}.key", "write_slot", $"{p}.k_new"], [$"present.{i}.key"]);
        Node("ScatterND", [$"past_key_values.{i}.value", "write_slot", $"{p}.v_new"], [$"present.{i}.value"]);
        Node("Reshape", [$"{p}.q_out", "q_shape"], [$"{p}.q4"]); // [N, kvH, G, Dh]

        var decode = Branch($"{p}.decode", $"{p}.attn_decode", () =>
        {
            Node("GatherND", [$"present.{i}.key", "read_slot"], [$"{p}.dk"]);   // [B, L, kvH, Dh]
            Node("GatherND", [$"present.{i}.value", "read_slot"], [$"{p}.dv"]);
            Node("Transpose", [$"{p}.dk"], [$"{p}.dkt"], ("perm", new long[] { 0, 2, 3, 1 })); // [B, kvH, Dh, L]
            Node("Transpose", [$"{p}.dv"], [$"{p}.dvt"], ("perm", new long[] { 0, 2, 1, 3 })); // [B, kvH, L, Dh]
            Node("MatMul", [$"{p}.q4", $"{p}.dkt"], [$"{p}.ds"]);                  // [B, kvH, G, L]
            Node("Mul", [$"{p}.ds", "attn_scale"], [$"{p}.dss"]);
            Node("Where", ["decode_visible", $"{p}.dss", "masked"], [$"{p}.dsm"]);
            Node("Softmax", [$"{p}.dsm"], [$"{p}.dp"], ("axis", -1L));
            Node("MatMul", [$"{p}.dp", $"{p}.dvt"], [$"{p}.do"]);                  // [B, kvH, G, Dh]
            Node("Reshape", [$"{p}.do", "attn_shape"], [$"{p}.attn_decode"]);
        });
        var joint = Branch($"{p}.joint", $"{p}.attn_joint", () =>
        {
            Node("GatherND", [$"present.{i}.key", "read_slot_flat"], [$"{p}.jk"]); // [B*L, kvH, Dh]
            Node("GatherND", [$"present.{i}.value", "read_slot_flat"], [$"{p}.jv"]);
            Node("Transpose", [$"{p}.jk"], [$"{p}.jkt"], ("perm", new long[] { 1, 2, 0 }));    // [kvH, Dh, B*L]
            Node("Transpose", [$"{p}.jv"], [$"{p}.jvt"], ("perm", new long[] { 1, 0, 2 }));    // [kvH, B*L, Dh]
            Node("Unsqueeze", [$"{p}.jkt", "ax1"], [$"{p}.jk4"]);
            Node("Unsqueeze", [$"{p}.jvt", "ax1"], [$"{p}.jv4"]);
            Node("Transpose", [$"{p}.q4"], [$"{p}.jq"], ("perm", new long[] { 1, 2, 0, 3 }));  // [kvH, G, N, Dh]
            Node("MatMul", [$"{p}.jq", $"{p}.jk4"], [$"{p}.js"]);                             // [kvH, G, N, B*L]
            Node("Mul", [$"{p}.js", "attn_scale"], [$"{p}.jss"]);
            Node("Where", ["joint_visible", $"{p}.jss", "masked"], [$"{p}.jsm"]);
            Node("Softmax", [$"{p}.jsm"], [$"{p}.jp"], ("axis", -1L));
            Node("MatMul", [$"{p}.jp", $"{p}.jv4"], [$"{p}.jo"]);                             // [kvH, G, N, Dh]
            Node("Transpose", [$"{p}.jo"], [$"{p}.jot"], ("perm", new long[] { 2, 0, 1, 3 })); // [N, kvH, G, Dh]
            Node("Reshape", [$"{p}.jot", "attn_shape"], [$"{p}.attn_joint"]);
        });
        Node("If", ["decode_only"], [$"{p}.attn"], ("then_branch", decode), ("else_branch", joint));
    }

    /// <summary>A subgraph for an If branch with one float output; its nodes read the outer graph's values.</summary>
    private GraphProto Branch(string name, string output, Action build)
    {
        var branch = new GraphProto { Name = name };
        var outer = _target;
        _target = branch;
        try
        {
            build();
        }
        finally
        {
            _target = outer;
        }
        branch.Output.Add(ValueInfo(output, FloatType, ["num_tokens", D(_spec.HiddenSize)]));
        return branch;
    }

    /// <summary>Pushes unreadable byte tokens and control tokens far down, EOS by the spec's bias.</summary>
    private string LogitBias()
    {
        var bias = new float[_spec.VocabSize];
        for (var id = 0; id < bias.Length; id++)
            bias[id] = ByteLevelTokenizer.IsPrintable(id) ? 0f : -30f;
        bias[ByteLevelTokenizer.EosId] = _spec.EosLogitBias;
        AddInitializer("logit_bias", [_spec.VocabSize], bias);
        return "logit_bias";
    }

    private string LayerNorm(string name, string input)
    {
        var ones = Enumerable.Repeat(1f, _spec.HiddenSize).ToArray();
        AddInitializer($"{name}.weight", [_spec.HiddenSize], ones);
        AddInitializer($"{name}.bias", [_spec.HiddenSize], new float[_spec.HiddenSize]);
        Node("LayerNormalization", [input, $"{name}.weight", $"{name}.bias"], [$"{name}.out"], ("axis", -1L), ("epsilon", 1e-5f));
        return $"{name}.out";
    }

    private string Weight(string name, long[] dims, float scale)
    {
        var count = checked((int)dims.Aggregate(1L, (a, b) => a * b));
        var data = new float[count];
        _random.Fill(data, scale);
        AddInitializer(name, dims, data);
        return name;
    }

    private void AddInitializer(string name, long[] dims, float[] data)
    {
        var tensor = new TensorProto { Name = name, DataType = FloatType, RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(data.AsSpan())) };
        tensor.Dims.AddRange(dims);
        _graph.Initializer.Add(tensor);
    }

    private void Const(string name, int type, long[] dims, long[] values)
    {
        var tensor = new TensorProto { Name = name, DataType = type };
        tensor.Dims.AddRange(dims);
        tensor.Int64Data.AddRange(values);
        _graph.Initializer.Add(tensor);
    }

    private NodeProto Node(string op, string[] inputs, string[] outputs, params (string Name, object Value)[] attributes)
    {
        var node = new NodeProto { OpType = op, Name = $"{op}_{_nodeCount++}" };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        foreach (var (name, value) in attributes)
        {
            node.Attribute.Add(value switch
            {
                long l => new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = l },
                float f => new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = f },
                long[] ls => Ints(name, ls),
                GraphProto g => new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Graph, G = g },
                _ => throw new ArgumentException($"Unsupported attribute type for {name}."),
            });
        }
        _target.Node.Add(node);
        return node;
    }

    private static AttributeProto Ints(string name, long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }

    private int _nodeCount;

    private static string D(int value) => value.ToString(CultureInfo.InvariantCulture);

    private void AddInput(string name, int type, params string[] dims) => _graph.Input.Add(ValueInfo(name, type, dims));

    private void AddOutput(string name, int type, params string[] dims) => _graph.Output.Add(ValueInfo(name, type, dims));

    private static ValueInfoProto ValueInfo(string name, int type, string[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
        {
            shape.Dim.Add(long.TryParse(d, out var v)
                ? new TensorShapeProto.Types.Dimension { DimValue = v }
                : new TensorShapeProto.Types.Dimension { DimParam = d });
        }
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = type, Shape = shape } },
        };
    }

    /// <summary>SplitMix64: fast, seedable, the same on every platform (System.Random's algorithm may change).</summary>
    private sealed class WeightRandom(ulong seed)
    {
        private ulong _state = seed;

        public void Fill(Span<float> data, float scale)
        {
            // Uniform in [-a, a] with a = scale * sqrt(3) has standard deviation `scale`.
            var a = scale * 1.7320508f;
            for (var i = 0; i < data.Length; i++)
                data[i] = ((Next() >> 40) * (1.0f / (1 << 24)) * 2f - 1f) * a;
        }

        private ulong Next()
        {
            var z = _state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }
}
