using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/Tempus.Benchmarks -- --filter '*'
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);

/// <summary>Entry point type for BenchmarkSwitcher.</summary>
internal sealed partial class Program;
