using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;

namespace ServingGateway.Gateway.Tests;

/// <summary>A request as the router leaves it: the path as sent, the endpoint it selected, the model it bound.</summary>
internal static class RoutedContext
{
    public static DefaultHttpContext Create(string method, string path, string pattern, string? model)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        context.Request.Path = path;
        context.SetEndpoint(new RouteEndpoint(_ => Task.CompletedTask, RoutePatternFactory.Parse(pattern), 0, EndpointMetadataCollection.Empty, pattern));
        if (model is not null)
        {
            context.Request.RouteValues["model"] = model;
        }

        return context;
    }
}
