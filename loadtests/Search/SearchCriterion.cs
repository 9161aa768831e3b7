namespace ServingGateway.LoadTool.Search;

/// <summary>What a step of <c>find-max-rate</c> must keep to pass.</summary>
internal enum SearchCriterion
{
    /// <summary>p99 latency within <c>--slo-p99</c> (perf_analyzer's question).</summary>
    P99,

    /// <summary>Answers within <c>--slo</c> at least <see cref="MaxRateSearch.MinGoodputShare"/> of the offered rate.</summary>
    Goodput,
}
