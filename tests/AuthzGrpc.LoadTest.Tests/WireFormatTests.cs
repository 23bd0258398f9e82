using AuthzGrpc.LoadTest.Scenarios;
using AuthzGrpc.V1;
using Google.Protobuf;

namespace AuthzGrpc.LoadTest.Tests;

/// <summary>The h2load body, h2load's output, and the at-least scenario's judgement of answers.</summary>
public sealed class WireFormatTests
{
    [Fact]
    public void GrpcFrame_Encode_IsFlagThenBigEndianLengthThenMessage()
    {
        var request = new CheckRequest { Action = "view", Resource = new ObjectRef { Type = "project", Id = "p" } };

        var frame = GrpcFrame.Encode(request);

        var message = request.ToByteArray();
        Assert.Equal([0, 0, 0, 0, (byte)message.Length], frame[..5]);
        Assert.Equal(message, frame[5..]);
        Assert.Equal(request, GrpcFrame.Decode(frame, CheckRequest.Parser, out var error));
        Assert.Null(error);
    }

    [Fact]
    public void GrpcFrame_LongMessage_LengthIsBigEndian()
    {
        var frame = GrpcFrame.Encode(new CheckRequest { Action = new string('a', 300) });

        Assert.Equal(303, frame.Length - 5);
        Assert.Equal([0, 0, 0, 0x01, 0x2F], frame[..5]);
    }

    [Theory]
    [InlineData(new byte[] { 0, 0, 0 }, "fewer than a frame's")]
    [InlineData(new byte[] { 1, 0, 0, 0, 0 }, "compressed")]
    [InlineData(new byte[] { 0, 0, 0, 0, 3, 8, 1 }, "says 3 message bytes but 2")]
    public void GrpcFrame_Malformed_SaysWhy(byte[] body, string reason)
    {
        Assert.Null(GrpcFrame.Decode(body, CheckResponse.Parser, out var error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    // What h2load 1.52 printed for a run of the Check body against the server.
    private const string H2LoadText = """
        starting benchmark...
        spawning thread #0: 2 total client(s). 20000 total requests
        Application protocol: h2c
        progress: 100% done

        finished in 565.77ms, 35349.93 req/s, 1.48MB/s
        requests: 20000 total, 20000 started, 20000 done, 20000 succeeded, 0 failed, 0 errored, 0 timeout
        status codes: 20000 2xx, 0 3xx, 0 4xx, 0 5xx
        traffic: 859.64KB (880274) total, 78.23KB (80110) headers (space savings 95.23%), 234.38KB (240000) data
                             min         max         mean         sd        +/- sd
        time for request:      130us     12.57ms       825us       980us    95.52%
        """;

    [Fact]
    public void H2LoadOutput_Summary_IsRead()
    {
        var figures = H2LoadOutput.ParseSummary(H2LoadText, out var error);

        Assert.Null(error);
        Assert.Equal(new H2LoadFigures(0.56577, 35349.93, 20000, 20000, 0, 20000, 240000), figures! with { Seconds = Math.Round(figures.Seconds, 5) });
    }

    [Fact]
    public void H2LoadOutput_Truncated_SaysWhatIsMissing()
    {
        Assert.Null(H2LoadOutput.ParseSummary("starting benchmark...\nprogress: 10% done\n", out var error));
        Assert.Contains("finished in", error, StringComparison.Ordinal);
    }

    [Fact]
    public void H2LoadOutput_Log_KeepsTheDurationsOf200()
    {
        var (durations, other) = H2LoadOutput.ParseLog(["1795391154815314\t200\t1724", "1795391154815316\t200\t1788", "1795391154815317\t503\t90", "garbage"]);

        Assert.Equal([1724, 1788], durations);
        Assert.Equal(1, other);
    }

    [Fact]
    public void ProbeHistory_Judges_ByTheStatesAtAndAfterTheReportedRevision()
    {
        var history = new ProbeHistory();
        history.Begin(granted: false);
        history.Committed(10);
        history.Begin(granted: true);
        history.Committed(11);
        history.Begin(granted: false);
        history.Committed(12);

        Assert.Equal(ProbeVerdict.AtReported, history.Judge(10, allowed: false));
        Assert.Equal(ProbeVerdict.AtReported, history.Judge(11, allowed: true));
        Assert.Equal(ProbeVerdict.NewerThanReported, history.Judge(11, allowed: false));

        // Revoked at 12, no write since: an allow at 12 or later is an answer older than its token.
        Assert.Equal(ProbeVerdict.Violation, history.Judge(12, allowed: true));
        Assert.Equal(ProbeVerdict.Violation, history.Judge(13, allowed: true));
        Assert.Equal(ProbeVerdict.Unverified, history.Judge(9, allowed: true));

        // A grant in flight may have committed as 13 before the writer heard back.
        history.Begin(granted: true);
        Assert.Equal(ProbeVerdict.AtReported, history.Judge(13, allowed: true));
        Assert.Equal(ProbeVerdict.NewerThanReported, history.Judge(12, allowed: true));
        history.Unknown();
        Assert.Equal(ProbeVerdict.Unverified, history.Judge(13, allowed: true));
    }

    [Fact]
    public void SeedFile_HoldsEveryDistinctRelationshipOnce()
    {
        var file = Path.GetTempFileName();
        try
        {
            var written = SeedFile.Write(2, file);

            var lines = File.ReadAllLines(file).Where(l => !l.StartsWith("//", StringComparison.Ordinal)).ToList();
            var relationships = lines.Select(Core.Model.Relationship.Parse).ToList();
            Assert.Equal(written, lines.Count);
            Assert.Equal(relationships.Count, relationships.Distinct().Count());
            Assert.Equal(new LoadData.PlatformDataSet(2).Generate().Distinct().Count(), relationships.Count);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
