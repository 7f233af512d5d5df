using System.Security.Cryptography;

namespace DigitalPost.Tests.Support;

/// <summary>Documents' bytes for tests: reproducible, and hashed as the platform hashes them.</summary>
internal static class TestBytes
{
    public static byte[] Random(int count, int seed)
    {
        var bytes = new byte[count];
        new System.Random(seed).NextBytes(bytes);
        return bytes;
    }

    public static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));
}
