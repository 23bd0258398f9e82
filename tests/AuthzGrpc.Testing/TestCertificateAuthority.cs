using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace AuthzGrpc.Testing;

/// <summary>
/// A private CA made for one test, which the machine does not trust: it issues a loopback server certificate or a client
/// certificate, and writes certificates and keys as the PEM files the server and authzctl read.
/// </summary>
public sealed class TestCertificateAuthority : IDisposable
{
    private const string ServerAuthentication = "1.3.6.1.5.5.7.3.1";
    private const string ClientAuthentication = "1.3.6.1.5.5.7.3.2";
    private readonly X509Certificate2 _certificate;

    private TestCertificateAuthority(X509Certificate2 certificate) => _certificate = certificate;

    /// <summary>A new CA named <paramref name="name"/>, valid for a day.</summary>
    public static TestCertificateAuthority Create(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        return new TestCertificateAuthority(request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1)));
    }

    /// <summary>Writes the CA's certificate (PEM) to <paramref name="file"/>.</summary>
    public Task WriteCertificateAsync(string file) => File.WriteAllTextAsync(file, _certificate.ExportCertificatePem());

    /// <summary>A certificate for a server on 127.0.0.1, with its private key.</summary>
    public X509Certificate2 IssueServer() => Issue("CN=127.0.0.1", ServerAuthentication, loopback: true);

    /// <summary>A client certificate named <paramref name="name"/>, with its private key.</summary>
    public X509Certificate2 IssueClient(string name) => Issue($"CN={name}", ClientAuthentication, loopback: false);

    /// <summary>Writes <paramref name="certificate"/> and its private key as PEM files.</summary>
    public static async Task WritePemAsync(X509Certificate2 certificate, string certificateFile, string keyFile)
    {
        await File.WriteAllTextAsync(certificateFile, certificate.ExportCertificatePem());
        await File.WriteAllTextAsync(keyFile, certificate.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
    }

    public void Dispose() => _certificate.Dispose();

    private X509Certificate2 Issue(string subject, string usage, bool loopback)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        if (loopback)
        {
            var names = new SubjectAlternativeNameBuilder();
            names.AddIpAddress(IPAddress.Loopback);
            request.CertificateExtensions.Add(names.Build());
        }

        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(usage)], critical: false));
        using var issued = request.Create(_certificate, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddHours(12), RandomNumberGenerator.GetBytes(8));
        return issued.CopyWithPrivateKey(key);
    }
}
