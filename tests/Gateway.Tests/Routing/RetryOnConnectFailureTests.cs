using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using ServingGateway.Routing;

namespace ServingGateway.Gateway.Tests.Routing;

/// <summary>What the edge records of a node's answer: a gRPC answer (always HTTP 200) by its grpc-status, as REST's by its status.</summary>
public sealed class RetryOnConnectFailureTests
{
    [Theory]
    [InlineData("0", 200)]
    [InlineData("5", 400)] // NOT_FOUND
    [InlineData("3", 400)] // INVALID_ARGUMENT
    [InlineData("8", 400)] // RESOURCE_EXHAUSTED
    [InlineData("14", 503)] // UNAVAILABLE
    [InlineData("4", 504)] // DEADLINE_EXCEEDED
    [InlineData("13", 500)] // INTERNAL
    [InlineData("12", 500)] // UNIMPLEMENTED
    public void AnswerStatus_GrpcStatusInHeadersOrTrailers_TheHttpStatusItStandsFor(string grpcStatus, int expected)
    {
        var trailersOnly = Grpc();
        trailersOnly.Response.Headers["grpc-status"] = grpcStatus;
        var withTrailers = Grpc();
        var trailers = new TrailersFeature();
        trailers.Trailers["grpc-status"] = grpcStatus;
        withTrailers.Features.Set<IHttpResponseTrailersFeature>(trailers);

        Assert.Equal(expected, RetryOnConnectFailure.AnswerStatus(trailersOnly));
        Assert.Equal(expected, RetryOnConnectFailure.AnswerStatus(withTrailers));
    }

    [Fact]
    public void AnswerStatus_RestOrNotGrpcStatus_TheHttpStatus()
    {
        var rest = new DefaultHttpContext();
        rest.Request.ContentType = "application/json";
        rest.Response.StatusCode = 404;
        rest.Response.Headers["grpc-status"] = "0";
        var grpcProxyError = Grpc();
        grpcProxyError.Response.StatusCode = 502;

        Assert.Equal(404, RetryOnConnectFailure.AnswerStatus(rest));
        Assert.Equal(502, RetryOnConnectFailure.AnswerStatus(grpcProxyError));
        Assert.Equal(200, RetryOnConnectFailure.AnswerStatus(Grpc())); // no status yet: the answer streams on
    }

    private static DefaultHttpContext Grpc()
    {
        var context = new DefaultHttpContext();
        context.Request.ContentType = "application/grpc";
        context.Response.StatusCode = 200;
        return context;
    }

    private sealed class TrailersFeature : IHttpResponseTrailersFeature
    {
        public IHeaderDictionary Trailers { get; set; } = new HeaderDictionary();
    }
}
