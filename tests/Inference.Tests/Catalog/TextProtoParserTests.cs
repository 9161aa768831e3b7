using ServingGateway.Inference.Catalog;

namespace ServingGateway.Inference.Tests.Catalog;

public class TextProtoParserTests
{
    private static string Scalar(TextProtoMessage message, string name, int index = 0) =>
        message.Fields.Where(f => f.Name == name).ElementAt(index).Scalar!.Value.Text;

    [Fact]
    public void Parse_ScalarsOfEveryKind_AreRead()
    {
        var root = TextProtoParser.Parse("""
            name: "mlp"
            single: 'quoted'
            joined: "a" 'b' "c"
            escaped: "tab\there \"q\" \x41\101\u00e9"
            count: 42
            negative: -1
            hex: 0x1F
            ratio: 1.5e3
            kind: KIND_GPU
            flag: true
            """);

        Assert.Equal("mlp", Scalar(root, "name"));
        Assert.Equal("quoted", Scalar(root, "single"));
        Assert.Equal("abc", Scalar(root, "joined"));
        Assert.Equal("tab\there \"q\" AAé", Scalar(root, "escaped"));
        Assert.Equal("42", Scalar(root, "count"));
        Assert.Equal("-1", Scalar(root, "negative"));
        Assert.Equal("0x1F", Scalar(root, "hex"));
        Assert.Equal("1.5e3", Scalar(root, "ratio"));
        Assert.Equal(TextProtoTokenKind.Identifier, root.Fields.Single(f => f.Name == "kind").Scalar!.Value.Kind);
        Assert.Equal(TextProtoTokenKind.String, root.Fields.Single(f => f.Name == "name").Scalar!.Value.Kind);
        Assert.Equal(TextProtoTokenKind.Number, root.Fields.Single(f => f.Name == "count").Scalar!.Value.Kind);
    }

    [Fact]
    public void Parse_Comments_AreSkippedAndPositionsCounted()
    {
        var root = TextProtoParser.Parse("# a comment: { not parsed\n  a: 1 # trailing\n# x: 2\n  b: \"# not a comment\"\n");

        Assert.Equal(["a", "b"], root.Fields.Select(f => f.Name));
        Assert.Equal((2, 3), (root.Fields[0].Line, root.Fields[0].Column));
        Assert.Equal("# not a comment", Scalar(root, "b"));
        Assert.Equal(4, root.Fields[1].Line);
    }

    [Fact]
    public void Parse_RepeatedFields_BothFormsGiveOneFieldPerValue()
    {
        var root = TextProtoParser.Parse("x: 1 x: 2\ny: [3, 4]\nz: []\nx: [5]");

        Assert.Equal(["1", "2", "5"], root.Fields.Where(f => f.Name == "x").Select(f => f.Scalar!.Value.Text));
        Assert.Equal(["3", "4"], root.Fields.Where(f => f.Name == "y").Select(f => f.Scalar!.Value.Text));
        Assert.DoesNotContain(root.Fields, f => f.Name == "z");
    }

    [Fact]
    public void Parse_NestedMessages_AllSpellings()
    {
        var root = TextProtoParser.Parse("""
            a { n: 1 }
            b: { n: 2 },
            c < n: 3 >;
            d [ { n: 4 }, { n: 5 } ]
            e: [ { n: 6 } ]
            f { g { h { n: 7 } } }
            """);

        Assert.Equal("1", Scalar(root.Fields.Single(f => f.Name == "a").Message!, "n"));
        Assert.Equal("2", Scalar(root.Fields.Single(f => f.Name == "b").Message!, "n"));
        Assert.Equal("3", Scalar(root.Fields.Single(f => f.Name == "c").Message!, "n"));
        Assert.Equal(["4", "5"], root.Fields.Where(f => f.Name == "d").Select(f => Scalar(f.Message!, "n")));
        Assert.Equal("6", Scalar(root.Fields.Single(f => f.Name == "e").Message!, "n"));
        var h = root.Fields.Single(f => f.Name == "f").Message!.Fields[0].Message!.Fields[0].Message!;
        Assert.Equal("7", Scalar(h, "n"));
        Assert.Equal((6, 3), (root.Fields[^1].Message!.Line, root.Fields[^1].Message!.Column));
    }

    [Fact]
    public void Parse_EmptyText_IsAnEmptyMessage()
    {
        Assert.Empty(TextProtoParser.Parse("  # nothing\n").Fields);
    }

    [Theory]
    [InlineData("a: 1\nb: \"open\n", 2, 4, "unterminated string")]
    [InlineData("a {\n  b: 1\n", 3, 1, "the message opened at line 1, column 3 is not closed")]
    [InlineData("a: 1\n}\n", 2, 1, "expected a field name, found '}'")]
    [InlineData("a: 1\n  b 2\n", 2, 5, "expected ':' or '{' after field name 'b'")]
    [InlineData("a: [1, 2\n", 2, 1, "the list opened at line 1, column 4 is not closed")]
    [InlineData("a: [1 2]\n", 1, 7, "expected ',' or ']' in the list of 'a'")]
    [InlineData("a: 1\nb: @\n", 2, 4, "unexpected character '@'")]
    [InlineData("a:\n", 2, 1, "expected a value for 'a', found the end of the file")]
    [InlineData("a: }\n", 1, 4, "expected a value for 'a', found '}'")]
    [InlineData("a: \"bad \\q escape\"\n", 1, 9, "unknown escape '\\q'")]
    [InlineData("a { b: 1 >\n", 1, 10, "expected a field name, found '>'")]
    [InlineData("3: 1\n", 1, 1, "expected a field name, found '3'")]
    public void Parse_Malformed_SaysWhereAndWhy(string text, int line, int column, string expected)
    {
        var ex = Assert.Throws<TextProtoException>(() => TextProtoParser.Parse(text));

        Assert.Equal((line, column), (ex.Line, ex.Column));
        Assert.StartsWith($"line {line}, column {column}: ", ex.Message, StringComparison.Ordinal);
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_DeeplyNested_IsRefused()
    {
        var text = string.Concat(Enumerable.Repeat("a { ", 40)) + string.Concat(Enumerable.Repeat("} ", 40));

        var ex = Assert.Throws<TextProtoException>(() => TextProtoParser.Parse(text));

        Assert.Contains("nested more than", ex.Message, StringComparison.Ordinal);
    }
}
