using System.Text;
using Tempus.Clock;
using Tempus.Discipline;

namespace Tempus.Tests.Discipline;

public sealed class DriftFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tempus-drift-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void TheFileHoldsChronysSignAndLayoutAndRoundTrips()
    {
        string path = Path.Combine(_dir, "drift");

        // A clock gaining 12.5 ppm is corrected with −12.5; chrony writes that clock's frequency as +12.5.
        DriftFile.Write(path, clockFrequencyPpm: -12.5, skewPpm: 0.042);

        Assert.Equal("           12.500000             0.042000\n", File.ReadAllText(path));
        DriftFileReading reading = DriftFile.Read(path);
        Assert.True(reading.IsValid);
        Assert.Equal(-12.5, reading.ClockFrequencyPpm, 9);
        Assert.Equal(0.042, reading.SkewPpm!.Value, 9);
    }

    [Fact]
    public void AFileWrittenByChronydIsRead()
    {
        DriftFileReading reading = DriftFile.Parse("/var/lib/chrony/chrony.drift", Encoding.ASCII.GetBytes("          -23.101034             0.187233\n"));
        Assert.True(reading.IsValid);
        Assert.Equal(23.101034, reading.ClockFrequencyPpm, 9);
    }

    [Fact]
    public void AMissingFileIsNoError()
    {
        DriftFileReading reading = DriftFile.Read(Path.Combine(_dir, "none"));
        Assert.False(reading.Found);
        Assert.Null(reading.Error);
        Assert.False(reading.IsValid);
    }

    [Theory]
    [InlineData("", "found 0 field")]
    [InlineData("12.5\n", "found 1 field")]
    [InlineData("1 2 3\n", "found 3 field")]
    [InlineData("abc 0.1\n", "frequency \"abc\"")]
    [InlineData("NaN 0.1\n", "frequency \"NaN\"")]
    [InlineData("600000 0.1\n", "within ±500000")]
    [InlineData("12.5 -1\n", "skew \"-1\"")]
    [InlineData("12.5 x\n", "skew \"x\"")]
    public void BadContentIsReportedNamingTheFileAndStartsFromZero(string content, string expected)
    {
        string path = Path.Combine(_dir, "bad.drift");
        File.WriteAllText(path, content);
        DriftFileReading reading = DriftFile.Read(path);
        Assert.False(reading.IsValid);
        Assert.Equal(0, reading.ClockFrequencyPpm);
        Assert.Contains(path, reading.Error, StringComparison.Ordinal);
        Assert.Contains(expected, reading.Error, StringComparison.Ordinal);
        Assert.Contains("starting with frequency 0 ppm", reading.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void AnOversizedFileIsRejectedWithoutReadingIt()
    {
        string path = Path.Combine(_dir, "huge");
        File.WriteAllBytes(path, new byte[DriftFile.MaxFileBytes + 1]);
        DriftFileReading reading = DriftFile.Read(path);
        Assert.False(reading.IsValid);
        Assert.Contains("more than the 4096", reading.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void TheDisciplineStartsFromTheDriftFileAndSavesItPeriodicallyAndOnRequest()
    {
        string path = Path.Combine(_dir, "tempus.drift");
        File.WriteAllText(path, "  30.000000   0.500000\n");
        var clock = new SimulatedClock(new DateTime(2026, 5, 1, 0, 0, 0, DateTimeKind.Utc), 0, frequencyErrorPpm: 30);
        var control = new SimulatedClockControl(clock);
        var options = new DisciplineOptions { DriftFile = path, DriftFileIntervalSeconds = 3600 };

        var discipline = new ClockDiscipline(control, options);

        Assert.True(discipline.InitialDrift!.IsValid);
        Assert.Equal(-30, control.FrequencyPpm, 9);
        Assert.Equal(0, clock.ResidualFrequencyPpm, 9);
        Assert.Equal(0.5, discipline.SkewPpm, 9);

        // Updates an hour apart with a good estimate of +1 ppm (our clock slow): the file follows once the interval passed.
        var input = new DisciplineInput(0, 1e-5, 1, 0.1, 2, 1, "s", 0.01, 0.01, Protocol.LeapIndicator.NoWarning);
        discipline.Update(input, clock.UnixNanoseconds);
        Assert.Equal(30, -DriftFile.Read(path).ClockFrequencyPpm, 9);
        clock.Advance(TimeSpan.FromHours(1));
        discipline.Update(input, clock.UnixNanoseconds);
        DriftFileReading saved = DriftFile.Read(path);
        Assert.Equal(control.FrequencyPpm, saved.ClockFrequencyPpm, 5);
        Assert.NotEqual(-30, saved.ClockFrequencyPpm, 3);

        control.SetFrequency(-7);
        Assert.True(discipline.SaveDriftFile());
        Assert.Equal(-7, DriftFile.Read(path).ClockFrequencyPpm, 6);
    }

    [Fact]
    public void ABadDriftFileLeavesTheFrequencyAloneAndSaysWhy()
    {
        string path = Path.Combine(_dir, "garbage.drift");
        File.WriteAllText(path, "hello world\n");
        var clock = new SimulatedClock(new DateTime(2026, 5, 1, 0, 0, 0, DateTimeKind.Utc));
        var control = new SimulatedClockControl(clock);

        var discipline = new ClockDiscipline(control, new DisciplineOptions { DriftFile = path });

        Assert.Equal(0, control.FrequencyPpm);
        Assert.Contains(path, discipline.InitialDrift!.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void AFailedSaveIsReportedNotThrown()
    {
        string path = Path.Combine(_dir, "missing-dir", "drift");
        var clock = new SimulatedClock(new DateTime(2026, 5, 1, 0, 0, 0, DateTimeKind.Utc));
        var discipline = new ClockDiscipline(new SimulatedClockControl(clock), new DisciplineOptions { DriftFile = path });
        Assert.False(discipline.SaveDriftFile());
        Assert.Contains(path, discipline.LastDriftFileError, StringComparison.Ordinal);
    }
}
