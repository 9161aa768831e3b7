using System.Globalization;

namespace ServingGateway.LoadTool.Reporting;

/// <summary>How reports write numbers: invariant culture, milliseconds with 3 significant decimals.</summary>
internal static class Formatting
{
    public static string Ms(double ms) => ms.ToString(ms < 1 ? "0.000" : ms < 100 ? "0.00" : "0.0", CultureInfo.InvariantCulture);

    public static string Rate(double perSecond) => perSecond.ToString("0.0", CultureInfo.InvariantCulture);

    public static string Count(long count) => count.ToString(CultureInfo.InvariantCulture);

    public static string Percent(double fraction) => (fraction * 100).ToString("0.###", CultureInfo.InvariantCulture) + "%";

    public static string Percentile(double percentile) => "p" + percentile.ToString("0.###", CultureInfo.InvariantCulture);

    public static string Seconds(TimeSpan span) => span.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + " s";

    /// <summary>A number for CSV: invariant, full precision.</summary>
    public static string Csv(double value) => value.ToString("0.######", CultureInfo.InvariantCulture);
}
