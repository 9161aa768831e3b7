namespace ServingGateway.Inference.Catalog;

/// <summary>One value of a field of protobuf's text format: a scalar token or a nested message.</summary>
/// <param name="Name">The field's name.</param>
/// <param name="Line">The line of the field's name.</param>
/// <param name="Column">The column of the field's name.</param>
/// <param name="Scalar">The value when it is a scalar (identifier, number or string; adjacent strings joined).</param>
/// <param name="Message">The value when it is a message.</param>
internal sealed record TextProtoField(string Name, int Line, int Column, TextProtoToken? Scalar, TextProtoMessage? Message)
{
    /// <summary>Where the value starts: the scalar, or the message's opening brace.</summary>
    public (int Line, int Column) ValuePosition =>
        Scalar is { } token ? (token.Line, token.Column) : Message is { } message ? (message.Line, message.Column) : (Line, Column);
}
