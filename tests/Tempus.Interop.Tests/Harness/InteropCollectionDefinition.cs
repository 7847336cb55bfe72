namespace Tempus.Interop.Tests.Harness;

[CollectionDefinition(Name)]
public sealed class InteropCollectionDefinition : ICollectionFixture<PeerPaths>
{
    public const string Name = "Interop";
}
