using DigitalPost.Contracts;
using DigitalPost.Domain.MassSending;

namespace DigitalPost.Silo;

/// <summary>Loads the recipient registry from CSV files named in configuration (<c>Registry:CitizensFile</c>,
/// <c>Registry:CompaniesFile</c>) once the silo runs: a demonstration or a test environment starts with its
/// recipients known. Production loads the registry through <c>PUT /api/registry/...</c>. Relative paths are from the
/// silo's content root.</summary>
public sealed class RegistrySeeding(IConfiguration configuration, IHostEnvironment environment, IGrainFactory grains, ILogger<RegistrySeeding> log) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var registry = grains.GetGrain<IRecipientRegistryGrain>(0);
        if (configuration["Registry:CitizensFile"] is { Length: > 0 } citizensFile)
        {
            using var text = CsvText.Open(Open(citizensFile));
            var (citizens, issues) = RegistryCsv.ReadCitizens(text);
            await registry.UpsertCitizens(citizens);
            log.LogInformation("Registry: {Count} citizens loaded from {File}, {Issues} rows with issues", citizens.Count, citizensFile, issues.Count);
        }
        if (configuration["Registry:CompaniesFile"] is { Length: > 0 } companiesFile)
        {
            using var text = CsvText.Open(Open(companiesFile));
            var (companies, issues) = RegistryCsv.ReadCompanies(text);
            await registry.UpsertCompanies(companies);
            log.LogInformation("Registry: {Count} companies loaded from {File}, {Issues} rows with issues", companies.Count, companiesFile, issues.Count);
        }
    }

    private FileStream Open(string file)
    {
        var path = Path.GetFullPath(file, environment.ContentRootPath);
        return File.Exists(path) ? File.OpenRead(path) : throw new FileNotFoundException($"The registry file {path} (from the Registry settings) does not exist.", path);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
