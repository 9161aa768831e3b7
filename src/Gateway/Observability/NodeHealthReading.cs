namespace ServingGateway.Observability;

/// <summary>One node behind an edge, as the edge's routing sees it now.</summary>
/// <param name="Id">The node's destination id (as in the edge's metrics).</param>
/// <param name="Address">The node's address.</param>
/// <param name="Available">Whether routing sends it requests now (YARP's available destinations: its health checks' verdict).</param>
/// <param name="Active">The active health check's verdict: healthy, unhealthy or unknown (not probed yet).</param>
/// <param name="Passive">The passive health check's verdict (transport failures of forwarded requests): healthy, unhealthy or unknown.</param>
/// <param name="Saturated">Whether a 503 with Retry-After from the node still passes it over.</param>
/// <param name="InFlight">Requests the edge is forwarding to it now.</param>
internal readonly record struct NodeHealthReading(string Id, string Address, bool Available, string Active, string Passive, bool Saturated, int InFlight);
