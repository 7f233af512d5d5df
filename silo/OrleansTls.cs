using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Orleans.Connections.Security;

namespace DigitalPost.Silo;

/// <summary>TLS with mutual certificates on the Orleans ports, from <c>Orleans:Tls:*</c>. Orleans has no client
/// authentication of its own: whoever reaches the gateway port may call every grain, and silo-to-silo traffic is plain.
/// With TLS on, every connection (silo to silo, client to gateway) must present a certificate issued by the configured
/// CA, and is encrypted. Trust is exactly "issued by this CA": host names are not checked, because silos advertise
/// addresses (a pod's IP) that no certificate could name in advance, so the CA must sign for this cluster alone.</summary>
/// <remarks>The local certificate is a PKCS#12 file with its password (<c>CertificateFile</c>,
/// <c>CertificatePassword</c>), a PEM certificate with its PEM key (<c>CertificateFile</c>, <c>CertificateKeyFile</c>:
/// what cert-manager puts in a Kubernetes secret), or one in the certificate store (<c>CertificateThumbprint</c>,
/// <c>CertificateStoreLocation</c>). <c>CaFile</c> holds the CA certificate(s) to trust, PEM or DER. Relative paths are
/// from the folder of the running program's dll. A silo's certificate serves both ends of a connection, so it needs
/// both extended key usages (server and client authentication); a client's needs client authentication.</remarks>
public sealed class OrleansTls
{
    public const string Section = "Orleans:Tls";

    private readonly X509Certificate2Collection _trusted;

    public X509Certificate2? Certificate { get; }

    private OrleansTls(X509Certificate2? certificate, X509Certificate2Collection trusted) => (Certificate, _trusted) = (certificate, trusted);

    /// <summary>The settings under <c>Orleans:Tls</c>, or null when TLS is off (no certificate configured). A setting
    /// that cannot be used stops the program with the key that names it.</summary>
    public static OrleansTls? Of(IConfiguration configuration)
    {
        var tls = configuration.GetSection(Section);
        var (file, thumbprint) = (tls["CertificateFile"], tls["CertificateThumbprint"]);
        if (string.IsNullOrEmpty(file) && string.IsNullOrEmpty(thumbprint)) return null;
        if (!string.IsNullOrEmpty(file) && !string.IsNullOrEmpty(thumbprint))
            throw new InvalidOperationException($"{Section}:CertificateFile and {Section}:CertificateThumbprint are both set; set one.");
        var certificate = string.IsNullOrEmpty(file)
            ? FromStore(thumbprint!, tls["CertificateStoreLocation"])
            : FromFile(file, tls["CertificatePassword"], tls["CertificateKeyFile"]);
        if (!certificate.HasPrivateKey) throw new InvalidOperationException($"The certificate of {Section} ({certificate.Subject}) has no private key.");
        return new OrleansTls(certificate, TrustedCas(tls));
    }

    /// <summary>The silos' side: every inbound connection (from silos and from clients) must present a certificate
    /// the CA issued, and outbound connections to other silos present this silo's.</summary>
    public void Configure(ISiloBuilder silo) => silo.UseTls(o =>
    {
        Apply(o);
        o.RemoteCertificateMode = RemoteCertificateMode.RequireCertificate;
        o.ClientCertificateMode = RemoteCertificateMode.RequireCertificate;
    });

    /// <summary>A client's side: it presents its certificate to the gateway and accepts only a silo whose certificate
    /// the CA issued.</summary>
    public void Configure(IClientBuilder client) => client.UseTls(o =>
    {
        Apply(o);
        o.RemoteCertificateMode = RemoteCertificateMode.RequireCertificate;
        o.ClientCertificateMode = Certificate is null ? RemoteCertificateMode.AllowCertificate : RemoteCertificateMode.RequireCertificate;
    });

    private void Apply(TlsOptions options)
    {
        options.LocalCertificate = Certificate;
        options.RemoteCertificateValidation = IssuedByTrustedCa;
    }

    /// <summary>Builds the remote certificate's chain to one of the configured CAs only (not the machine's roots), using
    /// the intermediates the remote end sent. The platform's own policy errors are not consulted: they judge the chain
    /// by the machine's roots and the name by a host name, neither of which applies here.</summary>
    private bool IssuedByTrustedCa(X509Certificate2 certificate, X509Chain? presented, SslPolicyErrors errors)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(_trusted);
        // A private CA publishes no revocation list; a certificate is withdrawn by replacing the CA (see the README).
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (presented is not null)
            foreach (var element in presented.ChainElements) chain.ChainPolicy.ExtraStore.Add(element.Certificate);
        return chain.Build(certificate);
    }

    private static X509Certificate2 FromFile(string file, string? password, string? keyFile)
    {
        var path = Resolve(file);
        if (!File.Exists(path)) throw new InvalidOperationException($"{Section}:CertificateFile names {path}, which does not exist.");
        if (!string.IsNullOrEmpty(keyFile)) return X509Certificate2.CreateFromPemFile(path, Resolve(keyFile));
        return X509CertificateLoader.LoadPkcs12FromFile(path, password);
    }

    private static X509Certificate2 FromStore(string thumbprint, string? location)
    {
        var storeLocation = Enum.TryParse<StoreLocation>(location ?? nameof(StoreLocation.CurrentUser), ignoreCase: true, out var parsed)
            ? parsed
            : throw new InvalidOperationException($"{Section}:CertificateStoreLocation is '{location}'; it must be CurrentUser or LocalMachine.");
        using var store = new X509Store(StoreName.My, storeLocation);
        store.Open(OpenFlags.ReadOnly);
        var found = store.Certificates.Find(X509FindType.FindByThumbprint, thumbprint, validOnly: false);
        return found.Count > 0
            ? found[0]
            : throw new InvalidOperationException($"{Section}:CertificateThumbprint {thumbprint} is not in the {storeLocation}/My certificate store.");
    }

    private static X509Certificate2Collection TrustedCas(IConfigurationSection tls)
    {
        var file = tls["CaFile"];
        if (string.IsNullOrEmpty(file)) throw new InvalidOperationException($"{Section}:CaFile is not set: it names the CA whose certificates the cluster trusts.");
        var path = Resolve(file);
        if (!File.Exists(path)) throw new InvalidOperationException($"{Section}:CaFile names {path}, which does not exist.");
        var trusted = new X509Certificate2Collection();
        if (File.ReadAllText(path).Contains("-----BEGIN CERTIFICATE-----", StringComparison.Ordinal)) trusted.ImportFromPemFile(path);
        else trusted.Add(X509CertificateLoader.LoadCertificateFromFile(path));
        return trusted.Count > 0 ? trusted : throw new InvalidOperationException($"{Section}:CaFile ({path}) holds no certificate.");
    }

    private static string Resolve(string path) => Path.GetFullPath(path, AppContext.BaseDirectory);
}
