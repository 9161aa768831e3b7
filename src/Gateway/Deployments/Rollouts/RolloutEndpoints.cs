using ServingGateway.Auth;
using ServingGateway.Inference.Common;

namespace ServingGateway.Deployments.Rollouts;

/// <summary>
/// <c>POST /admin/models/{model}/rollouts</c> (start), <c>GET .../rollouts/current</c> (state, readings, decisions) and
/// <c>POST .../rollouts/current/{command}</c> (promote, rollback, pause, resume), each needing the deploy role
/// (docs/API.md). Refusals are <c>{"error": "..."}</c> with 400, 404, 409 or 413. On an edge that does not drive the
/// rollouts (with <c>--redis</c>, another edge holds the lease) each call goes on to the one that does
/// (<see cref="RolloutForwarder"/>); 503 while none does.
/// </summary>
internal static class RolloutEndpoints
{
    /// <summary>The largest body a rollout request may have.</summary>
    public const int MaxBodyBytes = 64 * 1024;

    public static IEndpointRouteBuilder MapRolloutEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPost("/admin/models/{model}/rollouts", StartAsync).RequireRole(GatewayRoles.Deploy);
        endpoints.MapGet("/admin/models/{model}/rollouts/current", CurrentAsync).RequireRole(GatewayRoles.Deploy);
        endpoints.MapPost("/admin/models/{model}/rollouts/current/{command}", CommandAsync).RequireRole(GatewayRoles.Deploy);
        return endpoints;
    }

    private static async Task StartAsync(HttpContext context)
    {
        var driver = context.RequestServices.GetRequiredService<RolloutDriver>();
        var model = (string)context.Request.RouteValues["model"]!;
        try
        {
            var body = await ReadBodyAsync(context.Request, context.RequestAborted);
            if (!driver.IsDriving)
            {
                await context.RequestServices.GetRequiredService<RolloutForwarder>().ForwardAsync(context, body);
                return;
            }

            var spec = RolloutRequest.Parse(body);
            await driver.StartAsync(model, spec, Caller(context), context.RequestAborted);
            context.Response.Headers.Location = $"/admin/models/{Uri.EscapeDataString(model)}/rollouts/current";
            await WriteCurrentAsync(context, driver, model, StatusCodes.Status202Accepted);
        }
        catch (DeploymentException ex)
        {
            await ErrorResponse.WriteAsync(context, ex.StatusCode, ex.Message);
        }
    }

    private static Task CurrentAsync(HttpContext context)
    {
        var driver = context.RequestServices.GetRequiredService<RolloutDriver>();
        return driver.IsDriving
            ? WriteCurrentAsync(context, driver, (string)context.Request.RouteValues["model"]!, StatusCodes.Status200OK)
            : context.RequestServices.GetRequiredService<RolloutForwarder>().ForwardAsync(context, []);
    }

    private static async Task CommandAsync(HttpContext context)
    {
        var driver = context.RequestServices.GetRequiredService<RolloutDriver>();
        var model = (string)context.Request.RouteValues["model"]!;
        if (!driver.IsDriving)
        {
            await context.RequestServices.GetRequiredService<RolloutForwarder>().ForwardAsync(context, []);
            return;
        }

        try
        {
            driver.Command(model, (string)context.Request.RouteValues["command"]!, Caller(context));
            await WriteCurrentAsync(context, driver, model, StatusCodes.Status200OK);
        }
        catch (DeploymentException ex)
        {
            await ErrorResponse.WriteAsync(context, ex.StatusCode, ex.Message);
        }
    }

    private static async Task WriteCurrentAsync(HttpContext context, RolloutDriver driver, string model, int status)
    {
        if (driver.Describe(model) is not { } json)
        {
            await ErrorResponse.WriteAsync(context, StatusCodes.Status404NotFound, $"model '{model}' has no rollout");
            return;
        }

        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.Body.WriteAsync(json, context.RequestAborted);
    }

    private static async Task<byte[]> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (request.ContentLength > MaxBodyBytes)
        {
            throw new DeploymentException(StatusCodes.Status413PayloadTooLarge, $"a rollout request is at most {MaxBodyBytes} bytes");
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[8192];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            buffer.Write(chunk, 0, read);
            if (buffer.Length > MaxBodyBytes)
            {
                throw new DeploymentException(StatusCodes.Status413PayloadTooLarge, $"a rollout request is at most {MaxBodyBytes} bytes");
            }
        }

        return buffer.ToArray();
    }

    private static string Caller(HttpContext context) => context.Items[ApiKeyMiddleware.CallerItem] as string ?? "anonymous";
}
