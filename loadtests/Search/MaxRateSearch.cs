using System.Globalization;
using ServingGateway.LoadTool.Reporting;

namespace ServingGateway.LoadTool.Search;

/// <summary>
/// perf_analyzer's question for an open loop: the highest offered rate whose p99 stays within the
/// SLO. A rate passes when p99 ≤ SLO, the error rate ≤ the allowed one, and the throughput is at
/// least <see cref="MinThroughputShare"/> of the rate (a server that falls behind an open loop
/// fails here even before its p99 grows). With <see cref="SearchCriterion.Goodput"/> the question is
/// the highest rate whose goodput (2xx answers within the per-answer SLO) is at least
/// <see cref="MinGoodputShare"/> of the rate, with the error rate allowed; p99 is reported, not judged
/// (a server that sheds fast keeps the answers it gives within the SLO, and its refusals count against
/// goodput, not against the tail). The search doubles the rate from the start rate until
/// a step fails or the maximum passes, then bisects between the highest pass and the lowest
/// failure until they are within <c>precision</c> of each other (relative to the failure) or the
/// step budget is spent. A first step that fails bisects downwards, stopping below 1 req/s.
/// </summary>
internal sealed class MaxRateSearch(
    double sloMs, double maxErrorRate, double startRate, double maxRate, double precision, int maxSteps, SearchCriterion criterion = SearchCriterion.P99)
{
    /// <summary>The share of the offered rate a step must deliver to pass.</summary>
    public const double MinThroughputShare = 0.95;

    /// <summary>With <see cref="SearchCriterion.Goodput"/>: the share of the offered rate that must be answered within the SLO.</summary>
    public const double MinGoodputShare = 0.99;

    public async Task<MaxRateResult> RunAsync(
        Func<double, CancellationToken, Task<StepMeasurement>> measure, Action<SearchStep>? onStep, CancellationToken cancellationToken)
    {
        var steps = new List<SearchStep>();
        double highestPass = 0;
        var lowestFail = double.PositiveInfinity;

        async Task<bool> StepAsync(double rate)
        {
            var measured = await measure(rate, cancellationToken).ConfigureAwait(false);
            var step = Judge(steps.Count + 1, rate, measured);
            steps.Add(step);
            onStep?.Invoke(step);
            return step.Passed;
        }

        var rate = Math.Min(startRate, maxRate);
        while (steps.Count < maxSteps && !cancellationToken.IsCancellationRequested)
        {
            if (!await StepAsync(rate).ConfigureAwait(false))
            {
                lowestFail = rate;
                break;
            }

            highestPass = rate;
            if (rate >= maxRate)
            {
                break;
            }

            rate = Math.Min(rate * 2, maxRate);
        }

        while (steps.Count < maxSteps && !cancellationToken.IsCancellationRequested
               && !double.IsPositiveInfinity(lowestFail) && lowestFail - highestPass > precision * lowestFail && lowestFail >= 1)
        {
            var middle = (highestPass + lowestFail) / 2;
            middle = middle >= 10 ? Math.Round(middle) : middle;
            if (await StepAsync(middle).ConfigureAwait(false))
            {
                highestPass = middle;
            }
            else
            {
                lowestFail = middle;
            }
        }

        return new MaxRateResult(steps, highestPass > 0 ? highestPass : null);
    }

    /// <summary>Whether <paramref name="measured"/> at <paramref name="rate"/> keeps the SLO, with the reasons it does not.</summary>
    public SearchStep Judge(int number, double rate, StepMeasurement measured)
    {
        var inv = CultureInfo.InvariantCulture;
        var failures = new List<string>();
        if (measured.Responses == 0)
        {
            failures.Add("no responses");
        }
        else if (criterion == SearchCriterion.P99 && measured.P99Ms > sloMs)
        {
            failures.Add(string.Create(inv, $"p99 {measured.P99Ms:0.###} ms > {sloMs:0.###} ms"));
        }

        if (criterion == SearchCriterion.Goodput && !(measured.Goodput >= MinGoodputShare * rate))
        {
            failures.Add(string.Create(inv, $"goodput {measured.Goodput ?? 0:0.#} < {MinGoodputShare * 100:0}% of {rate:0.#} (answers within {sloMs:0.###} ms)"));
        }

        if (measured.ErrorRate > maxErrorRate)
        {
            failures.Add($"errors {Formatting.Percent(measured.ErrorRate)} > {Formatting.Percent(maxErrorRate)}");
        }

        if (criterion == SearchCriterion.P99 && measured.Throughput < MinThroughputShare * rate)
        {
            failures.Add(string.Create(inv, $"throughput {measured.Throughput:0.#} < {MinThroughputShare * 100:0}% of {rate:0.#}"));
        }

        return new SearchStep(number, rate, measured, failures.Count == 0, failures.Count == 0 ? "pass" : string.Join("; ", failures));
    }
}
