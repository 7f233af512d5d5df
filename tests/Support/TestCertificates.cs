using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace DigitalPost.Tests.Support;

/// <summary>A certificate authority made for one test run, and the certificates it issues, written to a folder of its
/// own as operators would hand them to a silo (a PEM CA certificate, PKCS#12 files with a password). Nothing of it is
/// kept after the run.</summary>
public sealed class TestCertificates : IDisposable
{
    public const string Password = "test-password";

    private static readonly Oid ServerAuthentication = new("1.3.6.1.5.5.7.3.1");
    private static readonly Oid ClientAuthentication = new("1.3.6.1.5.5.7.3.2");

    private readonly X509Certificate2 _ca;
    private readonly DirectoryInfo _folder;

    public string CaFile { get; }

    private TestCertificates(X509Certificate2 ca, DirectoryInfo folder)
    {
        (_ca, _folder) = (ca, folder);
        CaFile = Path.Combine(folder.FullName, "ca.pem");
        File.WriteAllText(CaFile, ca.ExportCertificatePem());
    }

    public static TestCertificates NewAuthority(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: true, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        var ca = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        return new TestCertificates(ca, Directory.CreateTempSubdirectory("digitalpost-tls"));
    }

    /// <summary>A silo's certificate: it accepts connections and opens them, so it has both usages.</summary>
    public X509Certificate2 IssueSilo(string name) => Issue(name, ServerAuthentication, ClientAuthentication);

    /// <summary>Another service's certificate for the gateway.</summary>
    public X509Certificate2 IssueClient(string name) => Issue(name, ClientAuthentication);

    /// <summary>Writes <paramref name="certificate"/> with its key as a PKCS#12 file protected by <see cref="Password"/>.</summary>
    public string WritePkcs12(X509Certificate2 certificate, string name)
    {
        var file = Path.Combine(_folder.FullName, name + ".pfx");
        File.WriteAllBytes(file, certificate.Export(X509ContentType.Pkcs12, Password));
        return file;
    }

    private X509Certificate2 Issue(string name, params Oid[] usages)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([.. usages], critical: false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(_ca, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        using var issued = request.Create(_ca, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(7), RandomNumberGenerator.GetBytes(16));
        // The issued certificate carries only the public key; PKCS#12 round trip gives a key SslStream can use on Linux.
        using var withKey = issued.CopyWithPrivateKey(key);
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12, Password), Password);
    }

    public void Dispose()
    {
        _ca.Dispose();
        try { _folder.Delete(recursive: true); } catch (IOException) { }
    }
}
