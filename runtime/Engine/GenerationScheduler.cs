using System.Diagnostics;
using System.Text;
using System.Threading.Channels;
using Microsoft.ML.OnnxRuntimeGenAI;

namespace LlmInfra.Engine;

/// <summary>
/// Bounded queue in front of a fixed set of generator workers. A worker decodes up to
/// <see cref="SchedulerOptions.MaxBatchSize"/> compatible requests in one GenAI generator (a cohort): one batched step
/// reads the weights once for all of them, which is what makes concurrency pay off on a memory-bound CPU.
/// GenAI cannot add a sequence to a running generator, so requests that arrive later form a new cohort on the same
/// worker, and the worker steps its cohorts in turn: a newcomer waits one step, not a whole generation.
/// </summary>
public sealed class GenerationScheduler : IGenerationBackend
{
    private readonly LlmModel _model;
    private readonly SchedulerOptions _options;
    private readonly int _promptLimit;
    private readonly object _lock = new(); // guards the queue and counters; workers Monitor.Wait on it
    private readonly LinkedList<Pending> _queue = new();
    private readonly Thread[] _workers;
    private readonly TaskCompletionSource _idle = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _running;
    private int _idleWorkers;
    private int _recentPeak;
    private long _recentPeakAt;
    private bool _closed;
    private bool _disposed;

    public GenerationScheduler(LlmModel model, SchedulerOptions options, int? maxPromptTokens = null)
    {
        options.Validate();
        _model = model;
        _options = options;
        _promptLimit = Math.Min(maxPromptTokens ?? int.MaxValue, model.ContextLength - 1);
        _workers = new Thread[(options.MaxConcurrent + options.MaxBatchSize - 1) / options.MaxBatchSize];
        for (var i = 0; i < _workers.Length; i++)
        {
            _workers[i] = new Thread(WorkerLoop) { IsBackground = true, Name = $"llm-generator-{i}" };
            _workers[i].Start();
        }
    }

    /// <summary>Requests queued and not yet generating.</summary>
    public int Waiting { get { lock (_lock) return _queue.Count; } }

    /// <summary>Requests generating now.</summary>
    public int Running { get { lock (_lock) return _running; } }

    public int QueueCapacity => _options.MaxConcurrent + _options.MaxQueue;

    /// <summary>Longest prompt accepted, in tokens.</summary>
    public int PromptLimit => _promptLimit;

    public LlmModel Model => _model;

    /// <summary>Raised once per request when it ends, for any reason (metrics hooks, tests). Runs on a worker thread: keep it short.</summary>
    public event Action<GenerationResult>? Completed;

    /// <summary>Raised when a worker starts a generator, with the number of requests batched into it.</summary>
    public event Action<int>? BatchStarted;

    /// <summary>
    /// Queues a prompt. Throws <see cref="PromptTooLongException"/>, <see cref="QueueFullException"/> or
    /// <see cref="SchedulerClosedException"/>; cancelling the token ends the generation with <see cref="FinishReason.Cancelled"/>.
    /// </summary>
    public Generation Submit(string prompt, SamplingOptions sampling, CancellationToken cancellationToken = default) =>
        SubmitAll(prompt, [sampling], cancellationToken)[0];

    /// <summary>
    /// Queues one generation of the prompt per sampling option, all or none: when the queue cannot take them all,
    /// none is queued and <see cref="QueueFullException"/> is thrown.
    /// </summary>
    public IReadOnlyList<Generation> SubmitAll(string prompt, IReadOnlyList<SamplingOptions> samplings, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentOutOfRangeException.ThrowIfLessThan(samplings.Count, 1, nameof(samplings));
        foreach (var sampling in samplings)
            ArgumentOutOfRangeException.ThrowIfLessThan(sampling.MaxTokens, 1, nameof(sampling.MaxTokens));
        var tokens = PendingGeneration.EncodePrompt(_model, prompt, _promptLimit);

        var pendings = samplings.Select(s => new Pending(prompt, tokens, s, Math.Min(s.MaxTokens, _model.ContextLength - tokens.Length))).ToArray();
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_closed) throw new SchedulerClosedException();
            if (_queue.Count + _running + pendings.Length > QueueCapacity) throw new QueueFullException(QueueCapacity);
            foreach (var pending in pendings) pending.Node = _queue.AddLast(pending);
            NoteLoad();
            Monitor.PulseAll(_lock);
        }
        // Registered after queueing: a token that is already cancelled removes the request again at once.
        foreach (var pending in pendings) pending.Watch(cancellationToken, _options.RequestTimeout, p => OnCancelled((Pending)p));
        return pendings.Select(p => new Generation(p.Channel.Reader, p.Result.Task, tokens.Length)).ToArray();
    }

    /// <summary>
    /// Stops accepting requests and waits for queued and running ones to finish. When <paramref name="cancellationToken"/>
    /// fires first (the grace period is over), what is left is cancelled. Returns true when everything finished on its own.
    /// </summary>
    public async Task<bool> DrainAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            _closed = true;
            CheckIdle();
        }
        try
        {
            await _idle.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            CancelAll();
            return false;
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed) return;
            _disposed = _closed = true;
            Monitor.PulseAll(_lock);
        }
        CancelAll();
        foreach (var worker in _workers) worker.Join();
    }

    private void CancelAll()
    {
        List<Pending> all;
        lock (_lock)
        {
            all = [.. _queue];
            _queue.Clear();
            foreach (var p in all) p.Node = null;
            CheckIdle();
        }
        foreach (var p in all) Finish(p, FinishReason.Cancelled);
        _abortRunning = true;
    }

    private volatile bool _abortRunning;

    private void OnCancelled(Pending pending)
    {
        lock (_lock)
        {
            if (pending.Node is null) return; // running: the worker notices at its next step
            _queue.Remove(pending.Node);
            pending.Node = null;
            CheckIdle();
        }
        // Not inline: this runs inside the token's callback, and Finish disposes that token's source.
        ThreadPool.UnsafeQueueUserWorkItem(p => Finish(p, p.CancelReason), pending, preferLocal: false);
    }

    /// <summary>Remembers the highest number of requests in the system over the last second. Caller holds _lock.</summary>
    private void NoteLoad()
    {
        var now = Stopwatch.GetTimestamp();
        var inSystem = _queue.Count + _running;
        if (inSystem >= _recentPeak || Stopwatch.GetElapsedTime(_recentPeakAt, now) > TimeSpan.FromSeconds(1))
        {
            _recentPeak = inSystem;
            _recentPeakAt = now;
        }
    }

    /// <summary>
    /// How many requests a worker should try to batch: recent load spread over the workers. Under steady load the
    /// clients of a finished batch come back within milliseconds, so waiting briefly for them keeps batches full;
    /// a lone client (recent load 1) never waits. Caller holds _lock.
    /// </summary>
    private int BatchTarget()
    {
        var recent = Stopwatch.GetElapsedTime(_recentPeakAt) <= TimeSpan.FromSeconds(1) ? _recentPeak : 1;
        var share = (recent + _workers.Length - 1) / _workers.Length;
        return Math.Clamp(share, 1, _options.MaxBatchSize);
    }

    private void CheckIdle()
    {
        if (_closed && _queue.Count == 0 && _running == 0) _idle.TrySetResult();
    }

    private void WorkerLoop()
    {
        var cohorts = new List<Cohort>();
        var lastFinish = 0L;
        try
        {
            while (true)
            {
                List<Pending>? admitted;
                lock (_lock)
                {
                    while (true)
                    {
                        if (_disposed) return;
                        var finishingSoon = cohorts.Any(c => c.StepsLeft <= FinishingSoonSteps);
                        admitted = TryAdmit(busy: cohorts.Count > 0, finishingSoon, lastFinish, out var retryIn);
                        if (admitted is not null || cohorts.Count > 0) break;
                        _idleWorkers++;
                        Monitor.Wait(_lock, retryIn);
                        _idleWorkers--;
                    }
                }

                if (admitted is not null && StartCohort(admitted) is { } started)
                    cohorts.Add(started);

                // One decode step for every cohort in turn: a newcomer starts within one step of the others
                // instead of waiting for a whole batch to finish.
                for (var i = cohorts.Count - 1; i >= 0; i--)
                {
                    if (Step(cohorts[i])) continue;
                    Release(cohorts[i]);
                    cohorts.RemoveAt(i);
                    lastFinish = Stopwatch.GetTimestamp();
                }
            }
        }
        finally
        {
            foreach (var cohort in cohorts) Release(cohort);
        }
    }

    /// <summary>A cohort this close to its end holds back newcomers: its clients are about to come back.</summary>
    private const int FinishingSoonSteps = 2;

    /// <summary>
    /// Takes the next cohort from the queue when it is worth starting: once it reaches this worker's share of recent
    /// load, or once its oldest request has waited <see cref="SchedulerOptions.BatchWindow"/> (counted from the
    /// worker's last finished cohort, whose clients tend to return together). While one of the worker's cohorts is
    /// about to finish, newcomers wait for it so the next batch starts full. A busy worker leaves new work to idle
    /// workers. A lone client (recent load 1) never waits. Caller holds _lock.
    /// </summary>
    private List<Pending>? TryAdmit(bool busy, bool finishingSoon, long lastFinish, out TimeSpan retryIn)
    {
        retryIn = Timeout.InfiniteTimeSpan;
        var head = _queue.First?.Value;
        if (head is null || _running >= _options.MaxConcurrent || busy && _idleWorkers > 0) return null;

        var limit = Math.Min(_options.MaxBatchSize, _options.MaxConcurrent - _running);
        var key = head.Sampling.BatchKey(head);
        var compatible = _queue.Count(p => p.Sampling.BatchKey(p).Equals(key));
        if (compatible < Math.Min(BatchTarget(), limit))
        {
            if (busy && finishingSoon) return null; // re-checked after the next step
            var waited = Stopwatch.GetElapsedTime(Math.Max(head.EnqueuedAt, lastFinish));
            if (waited < _options.BatchWindow)
            {
                retryIn = _options.BatchWindow - waited;
                return null;
            }
        }

        var batch = new List<Pending>(limit);
        foreach (var p in _queue.Where(p => p.Sampling.BatchKey(p).Equals(key)).Take(limit).ToList())
        {
            _queue.Remove(p.Node!);
            p.Node = null;
            batch.Add(p);
        }
        _running += batch.Count;
        return batch;
    }

    private void Release(Cohort cohort)
    {
        foreach (var p in cohort.Members.Where(p => !p.Done))
            Finish(p, FinishReason.Cancelled);
        cohort.Dispose();
        lock (_lock)
        {
            _running -= cohort.Members.Count;
            CheckIdle();
            Monitor.PulseAll(_lock);
        }
    }

    /// <summary>Creates the generator for a batch and runs its prompt. Returns null when nothing is left to run.</summary>
    private Cohort? StartCohort(List<Pending> batch)
    {
        var started = Stopwatch.GetTimestamp();
        var live = new List<Pending>(batch.Count);
        foreach (var p in batch)
        {
            p.StartedAt = started;
            if (p.IsCancelled || _abortRunning) Finish(p, p.IsCancelled ? p.CancelReason : FinishReason.Cancelled);
            else live.Add(p);
        }
        var cohort = new Cohort(batch, live);
        if (live.Count == 0)
        {
            Release(cohort);
            return null;
        }

        try
        {
            BatchStarted?.Invoke(live.Count);
            var model = _model.Model;
            var sampling = live[0].Sampling;
            var generatorParams = cohort.Params = new GeneratorParams(model);
            var maxPrompt = live.Max(p => p.Tokens.Length);
            generatorParams.SetSearchOption("max_length", Math.Min(_model.ContextLength, maxPrompt + live.Max(p => p.MaxNew)));
            generatorParams.SetSearchOption("batch_size", live.Count);
            if (sampling.IsGreedy)
            {
                generatorParams.SetSearchOption("do_sample", false);
            }
            else
            {
                generatorParams.SetSearchOption("do_sample", true);
                generatorParams.SetSearchOption("temperature", sampling.Temperature);
                generatorParams.SetSearchOption("top_p", sampling.TopP);
                generatorParams.SetSearchOption("top_k", sampling.TopK > 0 ? sampling.TopK : 0);
                if (sampling.Seed is long seed) generatorParams.SetSearchOption("random_seed", (double)seed);
            }

            // Members share a batch key, so they share the guidance too. The grammar compiles when the generator
            // is created; a refusal there is the request's fault (bad schema), not the server's.
            if (sampling.Guidance is { } guidance)
                generatorParams.SetGuidance(guidance.NativeType, guidance.Data, false);
            try
            {
                cohort.Generator = new Generator(model, generatorParams);
            }
            catch (OnnxRuntimeGenAIException ex) when (sampling.Guidance is not null)
            {
                throw new GuidanceRejectedException(ex.Message, ex);
            }
            var generator = cohort.Generator;
            if (live.Count == 1)
            {
                generator.AppendTokens(live[0].Tokens);
            }
            else
            {
                using var sequences = _model.Tokenizer.EncodeBatch(live.Select(p => p.Prompt).ToArray());
                generator.AppendTokenSequences(sequences);
            }
            cohort.Streams = live.Select(_ => _model.Tokenizer.CreateStream()).ToArray();
            return cohort;
        }
        catch (Exception ex)
        {
            foreach (var p in live) Fail(p, ex);
            Release(cohort);
            return null;
        }
    }

    /// <summary>One decode step for a cohort. Returns false once every member has finished.</summary>
    private bool Step(Cohort cohort)
    {
        var live = cohort.Live;
        try
        {
            foreach (var p in live)
            {
                if (!p.Done && (p.IsCancelled || _abortRunning))
                    Finish(p, p.IsCancelled ? p.CancelReason : FinishReason.Cancelled);
            }
            if (live.All(p => p.Done)) return false;
            var generator = cohort.Generator!;
            if (generator.IsDone())
            {
                foreach (var p in live.Where(p => !p.Done)) Finish(p, FinishReason.Length);
                return false;
            }

            generator.GenerateNextToken();
            var next = generator.GetNextTokens();
            var now = Stopwatch.GetTimestamp();
            var eos = _model.EosTokenIds;
            for (var i = 0; i < live.Count; i++)
            {
                var p = live[i];
                if (p.Done) continue;
                var token = next[i];
                if (eos.Contains(token))
                {
                    Finish(p, FinishReason.Stop);
                    continue;
                }
                p.CompletionTokens++;
                if (p.FirstTokenAt == 0) p.FirstTokenAt = now;
                var text = p.Matcher.Append(cohort.Streams![i].Decode(token), out var stopped);
                p.Emit(text);
                if (stopped || p.CompletionTokens >= p.MaxNew)
                    Finish(p, stopped ? FinishReason.Stop : FinishReason.Length);
            }
            return live.Any(p => !p.Done);
        }
        catch (Exception ex)
        {
            foreach (var p in live) Fail(p, ex);
            return false;
        }
    }

    /// <summary>Requests decoded together by one GenAI generator.</summary>
    private sealed class Cohort(List<Pending> members, List<Pending> live) : IDisposable
    {
        public List<Pending> Members { get; } = members;
        public List<Pending> Live { get; } = live;
        public GeneratorParams? Params { get; set; }
        public Generator? Generator { get; set; }
        public TokenizerStream[]? Streams { get; set; }

        /// <summary>Decode steps until every member reaches its token limit (end-of-text may come sooner).</summary>
        public int StepsLeft => Live.Where(p => !p.Done).Select(p => p.MaxNew - p.CompletionTokens).DefaultIfEmpty(0).Max();

        public void Dispose()
        {
            foreach (var s in Streams ?? []) s.Dispose();
            Generator?.Dispose();
            Params?.Dispose();
        }
    }

    private void Finish(Pending p, FinishReason reason)
    {
        if (p.Done) return;
        p.Done = true;
        if (reason is FinishReason.Stop or FinishReason.Length) p.Emit(p.Matcher.Flush());
        var result = p.ToResult(reason);
        p.Dispose();
        p.Channel.Writer.TryComplete();
        p.Result.TrySetResult(result);
        Completed?.Invoke(result);
    }

    private static void Fail(Pending p, Exception ex)
    {
        if (p.Done) return;
        p.Done = true;
        p.Dispose();
        p.Channel.Writer.TryComplete(ex);
        p.Result.TrySetException(ex);
    }

    private sealed class Pending(string prompt, int[] tokens, SamplingOptions sampling, int maxNew)
        : PendingGeneration(tokens, sampling, maxNew)
    {
        public string Prompt { get; } = prompt;
        public LinkedListNode<Pending>? Node { get; set; }
        public volatile bool Done;
    }
}
