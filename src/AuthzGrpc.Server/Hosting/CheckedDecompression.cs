using Grpc.AspNetCore.Server;
using Grpc.Net.Compression;
using Microsoft.Extensions.Options;

namespace AuthzGrpc.Server.Hosting;

/// <summary>
/// Wraps each of grpc-dotnet's compression providers so that reading a compressed request fails with a status: bytes
/// that do not decompress are INVALID_ARGUMENT (grpc-dotnet answers UNKNOWN, logging an error, or the handler's read
/// fails with INTERNAL), and a message that decompresses past the largest message the server receives is
/// RESOURCE_EXHAUSTED as soon as it does (grpc-dotnet would first inflate all of it into memory).
/// </summary>
internal sealed class CheckedDecompression : IPostConfigureOptions<GrpcServiceOptions>
{
    /// <inheritdoc/>
    public void PostConfigure(string? name, GrpcServiceOptions options)
    {
        var limit = options.MaxReceiveMessageSize ?? int.MaxValue;
        for (var i = 0; i < options.CompressionProviders.Count; i++)
        {
            if (options.CompressionProviders[i] is not Provider)
            {
                options.CompressionProviders[i] = new Provider(options.CompressionProviders[i], limit);
            }
        }
    }

    private sealed class Provider(ICompressionProvider inner, int limit) : ICompressionProvider
    {
        public string EncodingName => inner.EncodingName;

        public Stream CreateCompressionStream(Stream stream, System.IO.Compression.CompressionLevel? compressionLevel) =>
            inner.CreateCompressionStream(stream, compressionLevel);

        public Stream CreateDecompressionStream(Stream stream) => new Reading(inner.CreateDecompressionStream(stream), inner.EncodingName, limit);
    }

    private sealed class Reading(Stream inner, string encoding, int limit) : Stream
    {
        private long _read;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            try
            {
                return Counted(inner.Read(buffer));
            }
            catch (InvalidDataException e)
            {
                throw NotDecompressible(e);
            }
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            try
            {
                return Counted(await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false));
            }
            catch (InvalidDataException e)
            {
                throw NotDecompressible(e);
            }
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        // Adds what one read decompressed to the total, failing the call once the total passes the limit.
        private int Counted(int read)
        {
            _read += read;
            return _read > limit
                ? throw new RpcException(new Status(StatusCode.ResourceExhausted, $"the request message decompresses to more than {limit} bytes, the most the server receives"))
                : read;
        }

        private RpcException NotDecompressible(InvalidDataException e) =>
            new(new Status(StatusCode.InvalidArgument, $"the request message does not decompress as {encoding}: {e.Message}"));

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
