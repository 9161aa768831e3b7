namespace ServingGateway.Hosting;

/// <summary>Bad arguments or configuration found before the host starts; the message lists them all.</summary>
internal sealed class StartupException : Exception
{
    public StartupException(string message)
        : base(message)
    {
    }
}
