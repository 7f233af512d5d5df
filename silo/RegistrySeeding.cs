using DigitalPost.Domain.MassSending;
using DigitalPost.Infrastructure;
using Microsoft.Extensions.Options;

namespace DigitalPost.Silo;

/// <summary>Loads the recipient registry from CSV files named in configuration (<c>Registry:CitizensFile</c>,
/// <c>Registry:CompaniesFile</c>) once the silo runs: a demonstration or a test environment starts with its
/// recipients known. Production loads the registry through <c>PUT /api/registry/...</c>. Relative paths are from the
/// silo's content root.</summary>
public sealed class RegistrySeeding(IOptions<RegistryOptions> options, IHostEnvironment environment, RegistryLoading loading, ILogger<RegistrySeeding> log) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.Value.CitizensFile is { Length: > 0 } citizensFile)
        {
            using var text = CsvText.Open(Open(citizensFile));
            var loaded = await loading.LoadCitizens(text, cancellationToken);
            log.LogInformation("Registry: {Count} citizens loaded from {File}, {Issues} rows with issues", loaded.Loaded, citizensFile, loaded.IssueCount);
        }
        if (options.Value.CompaniesFile is { Length: > 0 } companiesFile)
        {
            using var text = CsvText.Open(Open(companiesFile));
            var loaded = await loading.LoadCompanies(text, cancellationToken);
            log.LogInformation("Registry: {Count} companies loaded from {File}, {Issues} rows with issues", loaded.Loaded, companiesFile, loaded.IssueCount);
        }
    }

    private FileStream Open(string file)
    {
        var path = Path.GetFullPath(file, environment.ContentRootPath);
        return File.Exists(path) ? File.OpenRead(path) : throw new FileNotFoundException($"The registry file {path} (from the Registry settings) does not exist.", path);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
