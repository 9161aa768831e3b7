using System.Globalization;
using Grpc.Core;

namespace ServingGateway.LoadTool.Results;

/// <summary>
/// The status a response carried: an HTTP status code, or with <see cref="IsGrpc"/> a gRPC status code (OK is
/// 0 there). The HTTP status 0 is "no response" (a connection error or a timeout, for either protocol) and -1
/// "aborted". An int converts to an HTTP status. Reports show HTTP statuses as numbers and gRPC ones by name
/// (UNAVAILABLE, RESOURCE_EXHAUSTED), and sort HTTP before gRPC.
/// </summary>
internal readonly record struct ResponseStatus(int Code, bool IsGrpc) : IComparable<ResponseStatus>
{
    /// <summary>No response came.</summary>
    public static ResponseStatus None => default;

    /// <summary>A 2xx HTTP status or gRPC OK.</summary>
    public bool IsSuccess => IsGrpc ? Code == (int)StatusCode.OK : Code is >= 200 and < 300;

    /// <summary>
    /// A refusal a server should answer fast and with a retry delay: 503 (overloaded) and 429 (rate limited), or
    /// their gRPC equivalents UNAVAILABLE and RESOURCE_EXHAUSTED.
    /// </summary>
    public bool IsRefusal => IsGrpc ? Code is (int)StatusCode.Unavailable or (int)StatusCode.ResourceExhausted : Code is 503 or 429;

    /// <summary>Whether a response came at all (any status).</summary>
    public bool HasResponse => IsGrpc || Code > 0;

    /// <summary>The run was stopped while the request was in flight.</summary>
    public bool Aborted => !IsGrpc && Code < 0;

    public static implicit operator ResponseStatus(int httpStatus) => new(httpStatus, false);

    /// <summary>The status of a gRPC answer.</summary>
    public static ResponseStatus Grpc(StatusCode code) => new((int)code, true);

    public int CompareTo(ResponseStatus other) => IsGrpc == other.IsGrpc ? Code.CompareTo(other.Code) : IsGrpc.CompareTo(other.IsGrpc);

    /// <summary>The number of an HTTP status, "none" without a response, the gRPC name of a gRPC one.</summary>
    public override string ToString() =>
        IsGrpc ? GrpcName((StatusCode)Code)
        : Code == 0 ? "none"
        : Code.ToString(CultureInfo.InvariantCulture);

    // The names gRPC's specification gives the codes (statuscodes.md), as grpcurl and the other clients print them.
    private static string GrpcName(StatusCode code) => code switch
    {
        StatusCode.OK => "OK",
        StatusCode.Cancelled => "CANCELLED",
        StatusCode.Unknown => "UNKNOWN",
        StatusCode.InvalidArgument => "INVALID_ARGUMENT",
        StatusCode.DeadlineExceeded => "DEADLINE_EXCEEDED",
        StatusCode.NotFound => "NOT_FOUND",
        StatusCode.AlreadyExists => "ALREADY_EXISTS",
        StatusCode.PermissionDenied => "PERMISSION_DENIED",
        StatusCode.ResourceExhausted => "RESOURCE_EXHAUSTED",
        StatusCode.FailedPrecondition => "FAILED_PRECONDITION",
        StatusCode.Aborted => "ABORTED",
        StatusCode.OutOfRange => "OUT_OF_RANGE",
        StatusCode.Unimplemented => "UNIMPLEMENTED",
        StatusCode.Internal => "INTERNAL",
        StatusCode.Unavailable => "UNAVAILABLE",
        StatusCode.DataLoss => "DATA_LOSS",
        StatusCode.Unauthenticated => "UNAUTHENTICATED",
        _ => $"gRPC {((int)code).ToString(CultureInfo.InvariantCulture)}",
    };
}
