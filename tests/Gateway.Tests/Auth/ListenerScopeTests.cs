using ServingGateway.Auth;

namespace ServingGateway.Gateway.Tests.Auth;

public class ListenerScopeTests
{
    [Theory]
    [InlineData("http://127.0.0.1:8000", true)]
    [InlineData("http://127.0.0.2:8000", true)]
    [InlineData("http://localhost:8000", true)]
    [InlineData("https://[::1]:8443", true)]
    [InlineData("http://0.0.0.0:8000", false)]
    [InlineData("http://[::]:8000", false)]
    [InlineData("http://*:8000", false)]
    [InlineData("http://+:8000", false)]
    [InlineData("http://10.0.0.5:8000", false)]
    [InlineData("http://localhost.example.com:8000", false)]
    [InlineData("http://127.0.0.1.nip.io:8000", false)]
    [InlineData("not a url", false)]
    public void IsLoopback_Url(string url, bool expected)
    {
        Assert.Equal(expected, ListenerScope.IsLoopback(url));
    }

    [Fact]
    public void LoopbackOnly_BeforeTheServerStarted_IsFalse()
    {
        Assert.False(new ListenerScope().LoopbackOnly);
    }
}
