using System.Globalization;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;

namespace LlmInfra.DemoModel;

/// <summary>
/// Builds a GPT-style decoder as an ONNX graph with GenAI's default input/output names.
/// Attention uses com.microsoft GroupQueryAttention so GenAI can share the past/present KV buffer,
/// which batching and appending tokens to a running generator need.
/// </summary>
internal sealed class DecoderGraph
{
    private const int FloatType = 1;
    private const int Int32Type = 6;
    private const int Int64Type = 7;

    private readonly DemoModelSpec _spec;
    private readonly GraphProto _graph = new() { Name = "demo-decoder" };
    private readonly WeightRandom _random;

    private DecoderGraph(DemoModelSpec spec)
    {
        _spec = spec;
        _random = new WeightRandom(spec.Seed);
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
        var kvDim = s.KvHeads * s.HeadSize;
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

        Weight("embed_tokens", [s.VocabSize, s.HiddenSize], 1.0f);
        Weight("embed_positions", [s.ContextLength, s.HiddenSize], 0.5f);
        Node("Gather", ["embed_tokens", "input_ids"], ["tok_emb"], ("axis", 0L));
        Node("Gather", ["embed_positions", "position_ids"], ["pos_emb"], ("axis", 0L));
        Node("Add", ["tok_emb", "pos_emb"], ["h0"]);

        var x = "h0";
        var projScale = 1.0f / MathF.Sqrt(s.HiddenSize);
        for (var i = 0; i < s.Layers; i++)
        {
            var p = $"layers.{i}";
            AddInput($"past_key_values.{i}.key", FloatType, "batch_size", D(s.KvHeads), "past_sequence_length", D(s.HeadSize));
            AddInput($"past_key_values.{i}.value", FloatType, "batch_size", D(s.KvHeads), "past_sequence_length", D(s.HeadSize));
            AddOutput($"present.{i}.key", FloatType, "batch_size", D(s.KvHeads), "total_sequence_length", D(s.HeadSize));
            AddOutput($"present.{i}.value", FloatType, "batch_size", D(s.KvHeads), "total_sequence_length", D(s.HeadSize));

            var ln1 = LayerNorm($"{p}.ln1", x);
            Node("MatMul", [ln1, Weight($"{p}.q", [s.HiddenSize, s.HiddenSize], projScale)], [$"{p}.q_out"]);
            Node("MatMul", [ln1, Weight($"{p}.k", [s.HiddenSize, kvDim], projScale)], [$"{p}.k_out"]);
            Node("MatMul", [ln1, Weight($"{p}.v", [s.HiddenSize, kvDim], projScale)], [$"{p}.v_out"]);
            var gqa = Node("GroupQueryAttention",
                [$"{p}.q_out", $"{p}.k_out", $"{p}.v_out", $"past_key_values.{i}.key", $"past_key_values.{i}.value", "seqlens_k", "total_len"],
                [$"{p}.attn", $"present.{i}.key", $"present.{i}.value"],
                ("num_heads", (long)s.Heads), ("kv_num_heads", (long)s.KvHeads));
            gqa.Domain = "com.microsoft";
            Node("MatMul", [$"{p}.attn", Weight($"{p}.o", [s.HiddenSize, s.HiddenSize], projScale)], [$"{p}.o_out"]);
            Node("Add", [x, $"{p}.o_out"], [$"{p}.res1"]);

            var ln2 = LayerNorm($"{p}.ln2", $"{p}.res1");
            Node("MatMul", [ln2, Weight($"{p}.fc1", [s.HiddenSize, s.FeedForwardSize], projScale)], [$"{p}.fc1_out"]);
            Node("Relu", [$"{p}.fc1_out"], [$"{p}.act"]);
            Node("MatMul", [$"{p}.act", Weight($"{p}.fc2", [s.FeedForwardSize, s.HiddenSize], 1.0f / MathF.Sqrt(s.FeedForwardSize))], [$"{p}.fc2_out"]);
            Node("Add", [$"{p}.res1", $"{p}.fc2_out"], [$"{p}.out"]);
            x = $"{p}.out";
        }

        var lnf = LayerNorm("final_ln", x);
        // Scale 3/sqrt(H) gives logits with a spread of a few units: varied text, yet greedy is stable.
        Node("MatMul", [lnf, Weight("lm_head", [s.HiddenSize, s.VocabSize], 3.0f / MathF.Sqrt(s.HiddenSize))], ["raw_logits"]);
        Node("Add", ["raw_logits", LogitBias()], ["logits"]);
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
        var node = new NodeProto { OpType = op, Name = $"{op}_{_graph.Node.Count}" };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        foreach (var (name, value) in attributes)
        {
            node.Attribute.Add(value switch
            {
                long l => new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = l },
                float f => new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = f },
                _ => throw new ArgumentException($"Unsupported attribute type for {name}."),
            });
        }
        _graph.Node.Add(node);
        return node;
    }

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
