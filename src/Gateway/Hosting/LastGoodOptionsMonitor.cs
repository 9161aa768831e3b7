using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace ServingGateway.Hosting;

/// <summary>
/// An <see cref="IOptionsMonitor{TOptions}"/> that never fails open: on every configuration change it
/// builds the options again through the <see cref="IOptionsFactory{TOptions}"/> (binding and every
/// <see cref="IValidateOptions{TOptions}"/>, the same checks as at start), and only options that pass
/// replace the current ones. A refused reload is logged and counted (<see cref="ConfigReloads"/>); the
/// last good options stay in force and readers never see an exception. Used by every reloadable option
/// type (<see cref="ReloadableOptions.Add{TOptions}"/>).
/// </summary>
/// <remarks>Only the default (unnamed) options are monitored; named ones are built on each call.</remarks>
internal sealed class LastGoodOptionsMonitor<TOptions> : IOptionsMonitor<TOptions>, IDisposable
    where TOptions : class
{
    private readonly IOptionsFactory<TOptions> _factory;
    private readonly ConfigReloads _reloads;
    private readonly string _section;
    private readonly List<IDisposable> _registrations = [];
    private readonly Lock _listenersLock = new();
    private ImmutableListeners _listeners = new([]);
    private TOptions _current;

    public LastGoodOptionsMonitor(IOptionsFactory<TOptions> factory, IEnumerable<IOptionsChangeTokenSource<TOptions>> sources, ConfigReloads reloads, ReloadableOptions.Section<TOptions> section)
    {
        _factory = factory;
        _reloads = reloads;
        _section = section.Name;
        _current = factory.Create(Options.DefaultName); // at start an invalid configuration throws: the host does not start
        foreach (var source in sources)
        {
            _registrations.Add(ChangeToken.OnChange(source.GetChangeToken, Reload));
        }
    }

    public TOptions CurrentValue => Volatile.Read(ref _current);

    public TOptions Get(string? name) => string.IsNullOrEmpty(name) ? CurrentValue : _factory.Create(name);

    public IDisposable? OnChange(Action<TOptions, string?> listener)
    {
        lock (_listenersLock)
        {
            _listeners = new ImmutableListeners([.. _listeners.Items, listener]);
        }

        return new Unsubscriber(this, listener);
    }

    public void Dispose()
    {
        foreach (var registration in _registrations)
        {
            registration.Dispose();
        }
    }

    private void Reload()
    {
        TOptions next;
        try
        {
            next = _factory.Create(Options.DefaultName);
        }
        catch (OptionsValidationException ex)
        {
            _reloads.Refused(_section, ex.Failures);
            return;
        }
        catch (InvalidOperationException ex)
        {
            _reloads.Refused(_section, [ex.Message]); // a value the binder cannot convert ("Rate": "fast")
            return;
        }

        Volatile.Write(ref _current, next);
        foreach (var listener in _listeners.Items)
        {
            listener(next, Options.DefaultName);
        }

        // Counted once the listeners (the key table's snapshot, ...) have it too: "applied" means in force.
        _reloads.Applied(_section);
    }

    private sealed record ImmutableListeners(Action<TOptions, string?>[] Items);

    private sealed class Unsubscriber(LastGoodOptionsMonitor<TOptions> monitor, Action<TOptions, string?> listener) : IDisposable
    {
        public void Dispose()
        {
            lock (monitor._listenersLock)
            {
                monitor._listeners = new ImmutableListeners([.. monitor._listeners.Items.Where(l => l != listener)]);
            }
        }
    }
}
