using ServingGateway.Inference.Drift;

namespace ServingGateway.Inference.Tests.Drift;

public class DriftSketchTests
{
    [Fact]
    public void Continuous_SameNormal_PsiAndKsSmall()
    {
        var random = new Random(1);
        var sketch = Reference(new ContinuousSketch(), 2000, () => Normal(random, 0));

        Live(sketch, 2000, () => Normal(random, 0));

        Assert.True(sketch.Psi < 0.05, $"psi {sketch.Psi}");
        Assert.True(sketch.Ks < 0.05, $"ks {sketch.Ks}");
        Assert.Equal(ContinuousSketch.Bins, sketch.Reference.Length);
        Assert.Equal(1, sketch.Reference.Sum(), 9);
    }

    [Fact]
    public void Continuous_MeanShiftedByOneSd_PsiAndKsLarge()
    {
        var random = new Random(2);
        var sketch = Reference(new ContinuousSketch(), 2000, () => Normal(random, 0));

        Live(sketch, 2000, () => Normal(random, 1));

        // PSI of N(1,1) against N(0,1) over deciles is about 1; the KS of the raw values is 0.38.
        Assert.True(sketch.Psi > 0.5, $"psi {sketch.Psi}");
        Assert.InRange(sketch.Ks, 0.3, 0.39);
    }

    [Fact]
    public void Continuous_SecondWindow_StartsEmpty()
    {
        var random = new Random(3);
        var sketch = Reference(new ContinuousSketch(), 1000, () => Normal(random, 0));
        Live(sketch, 1000, () => Normal(random, 3));
        Assert.True(sketch.Psi > 1, $"psi {sketch.Psi}");

        Live(sketch, 1000, () => Normal(random, 0));

        Assert.True(sketch.Psi < 0.05, $"psi {sketch.Psi}");
    }

    [Fact]
    public void Categorical_SameFrequencies_PsiSmall()
    {
        var random = new Random(4);
        var sketch = Reference(new CategoricalSketch(), 3000, () => Zipf(random, 50));

        Live(sketch, 3000, () => Zipf(random, 50));

        Assert.True(sketch.Psi < 0.05, $"psi {sketch.Psi}");
        Assert.True(double.IsNaN(sketch.Ks));
        Assert.Equal(CategoricalSketch.TopCategories + 1, sketch.Reference.Length); // the top 9 and "other"
    }

    [Fact]
    public void Categorical_OtherTokens_PsiLarge()
    {
        var random = new Random(5);
        var sketch = Reference(new CategoricalSketch(), 3000, () => Zipf(random, 50));

        Live(sketch, 3000, () => 100 + Zipf(random, 50)); // none of the reference's categories: all "other"

        Assert.True(sketch.Psi > 2, $"psi {sketch.Psi}");
    }

    [Fact]
    public void Categorical_TooManyDistinct_CountsTheRestAsOther()
    {
        var sketch = new CategoricalSketch();
        for (var i = 0; i < CategoricalSketch.MaxDistinct * 2; i++)
        {
            sketch.AddReference(i);
        }

        sketch.CompleteReference();

        Assert.Equal(1.0 - (CategoricalSketch.TopCategories / (double)(CategoricalSketch.MaxDistinct * 2)), sketch.Reference[^1], 9);
    }

    internal static double Normal(Random random, double mean) =>
        mean + (Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()));

    // Category k (0-based) with a weight of 1 / (k + 1).
    internal static int Zipf(Random random, int categories)
    {
        var total = Enumerable.Range(1, categories).Sum(k => 1.0 / k);
        var draw = random.NextDouble() * total;
        for (var k = 0; k < categories; k++)
        {
            draw -= 1.0 / (k + 1);
            if (draw <= 0)
            {
                return k;
            }
        }

        return categories - 1;
    }

    private static FeatureSketch Reference(FeatureSketch sketch, int count, Func<double> draw)
    {
        for (var i = 0; i < count; i++)
        {
            sketch.AddReference(draw());
        }

        sketch.CompleteReference();
        return sketch;
    }

    private static void Live(FeatureSketch sketch, int count, Func<double> draw)
    {
        for (var i = 0; i < count; i++)
        {
            sketch.AddLive(draw());
        }

        sketch.CompleteWindow();
    }
}
