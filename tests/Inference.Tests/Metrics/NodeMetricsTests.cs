using System.Text;
using ServingGateway.Batching;
using ServingGateway.Inference.Metrics;

namespace ServingGateway.Inference.Tests.Metrics;

/// <summary>The batcher's counters as /metrics shows them: refusals by reason, the estimated queue wait, goodput.</summary>
public sealed class NodeMetricsTests
{
    private static long[] Rejected(int queueRows = 0, int queueBytes = 0, int deadline = 0, int expired = 0, int codel = 0)
    {
        var counts = new long[Enum.GetValues<RejectionReason>().Length];
        counts[(int)RejectionReason.QueueRows] = queueRows;
        counts[(int)RejectionReason.QueueBytes] = queueBytes;
        counts[(int)RejectionReason.Deadline] = deadline;
        counts[(int)RejectionReason.Expired] = expired;
        counts[(int)RejectionReason.CoDel] = codel;
        return counts;
    }

    private static async Task<string> ScrapeAsync(NodeMetrics metrics)
    {
        using var text = new MemoryStream();
        await metrics.Registry.CollectAndExportAsTextAsync(text);
        return Encoding.UTF8.GetString(text.ToArray());
    }

    [Fact]
    public async Task Scrape_BatcherCounters_EachReasonUnderItsOwnLabel()
    {
        var metrics = new NodeMetrics();
        var counters = new QueueCounters(3, TimeSpan.FromMilliseconds(250), Rejected(queueRows: 1, queueBytes: 2, deadline: 3, expired: 4, codel: 5), 40, 7, 0.5625);
        metrics.ForVersion("m", "1", () => counters);

        var text = await ScrapeAsync(metrics);

        Assert.Contains("""sg_queue_rejected_total{model="m",version="1",reason="queue_rows"} 1""", text, StringComparison.Ordinal);
        Assert.Contains("""sg_queue_rejected_total{model="m",version="1",reason="queue_bytes"} 2""", text, StringComparison.Ordinal);
        Assert.Contains("""sg_queue_rejected_total{model="m",version="1",reason="deadline"} 3""", text, StringComparison.Ordinal);
        Assert.Contains("""sg_queue_rejected_total{model="m",version="1",reason="expired"} 4""", text, StringComparison.Ordinal);
        Assert.Contains("""sg_queue_rejected_total{model="m",version="1",reason="codel"} 5""", text, StringComparison.Ordinal);
        Assert.Contains("""sg_queue_wait_estimate_seconds{model="m",version="1"} 0.25""", text, StringComparison.Ordinal);
        Assert.Contains("""sg_deadline_answers_total{model="m",version="1",outcome="in_time"} 40""", text, StringComparison.Ordinal);
        Assert.Contains("""sg_deadline_answers_total{model="m",version="1",outcome="late"} 7""", text, StringComparison.Ordinal);
        Assert.Contains("""sg_queue_rows{model="m",version="1"} 3""", text, StringComparison.Ordinal);
        Assert.Contains("""sg_queue_admission_share{model="m",version="1"} 0.5625""", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Scrape_CountersRise_TheNextScrapeShowsTheRise()
    {
        var metrics = new NodeMetrics();
        var counters = new QueueCounters(0, TimeSpan.Zero, Rejected(), 0, 0);
        metrics.ForVersion("m", "1", () => counters);
        Assert.Contains("""sg_queue_rejected_total{model="m",version="1",reason="deadline"} 0""", await ScrapeAsync(metrics), StringComparison.Ordinal);

        counters = counters with { Rejected = Rejected(deadline: 2) };

        var text = await ScrapeAsync(metrics);
        Assert.Contains("""sg_queue_rejected_total{model="m",version="1",reason="deadline"} 2""", text, StringComparison.Ordinal);
        Assert.Contains("""sg_queue_rejected_total{model="m",version="1",reason="codel"} 0""", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RemoveVersion_Unloaded_ItsSeriesAreGone()
    {
        var metrics = new NodeMetrics();
        metrics.ForVersion("m", "1", () => new QueueCounters(0, TimeSpan.Zero, Rejected(codel: 1), 1, 0));
        Assert.Contains("sg_queue_rejected_total{model=\"m\"", await ScrapeAsync(metrics), StringComparison.Ordinal);

        metrics.RemoveVersion("m", "1");

        var text = await ScrapeAsync(metrics);
        Assert.DoesNotContain("sg_queue_rejected_total{model=\"m\"", text, StringComparison.Ordinal);
        Assert.DoesNotContain("sg_queue_wait_estimate_seconds{model=\"m\"", text, StringComparison.Ordinal);
        Assert.DoesNotContain("sg_deadline_answers_total{model=\"m\"", text, StringComparison.Ordinal);
        Assert.DoesNotContain("sg_queue_rows{model=\"m\"", text, StringComparison.Ordinal);
        Assert.DoesNotContain("sg_queue_admission_share{model=\"m\"", text, StringComparison.Ordinal);
    }
}
