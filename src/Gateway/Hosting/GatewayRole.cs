namespace ServingGateway.Hosting;

/// <summary>What one ServingGateway process runs (see ARCHITECTURE.md).</summary>
public enum GatewayRole
{
    /// <summary>Edge pipeline and inference node in one process, no network hop between them.</summary>
    Standalone,

    /// <summary>Inference node only, behind edges.</summary>
    Node,

    /// <summary>Edge pipeline and YARP forwarding to nodes.</summary>
    Edge,
}
