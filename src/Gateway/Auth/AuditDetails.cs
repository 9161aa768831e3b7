namespace ServingGateway.Auth;

/// <summary>
/// What an admin endpoint adds to its call's audit line (a version upload: version, digest, size, result), written
/// as the line's <c>details</c> object in the order added. Set on the request's features by
/// <see cref="Add(HttpContext, string, string?)"/>; read by <see cref="AuditLog"/> when the call ends.
/// </summary>
internal sealed class AuditDetails
{
    private readonly List<(string Name, string? Text, long? Number)> _fields = [];

    /// <summary>The fields added, in order; a field is text or a number.</summary>
    public IReadOnlyList<(string Name, string? Text, long? Number)> Fields => _fields;

    /// <summary>Adds a text field (null writes null) to the audit line of <paramref name="context"/>'s call.</summary>
    public static void Add(HttpContext context, string name, string? value) => Of(context)._fields.Add((name, value, null));

    /// <summary>Adds a number field to the audit line of <paramref name="context"/>'s call.</summary>
    public static void Add(HttpContext context, string name, long value) => Of(context)._fields.Add((name, null, value));

    private static AuditDetails Of(HttpContext context)
    {
        if (context.Features.Get<AuditDetails>() is not { } details)
        {
            details = new AuditDetails();
            context.Features.Set(details);
        }

        return details;
    }
}
