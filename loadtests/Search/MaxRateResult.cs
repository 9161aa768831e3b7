namespace ServingGateway.LoadTool.Search;

/// <summary>The curve of a search and its answer: the highest passing rate, or null when none passed.</summary>
internal sealed record MaxRateResult(IReadOnlyList<SearchStep> Steps, double? MaxRate);
