using DigitalPost.Infrastructure;

namespace DigitalPost.Retention;

/// <summary>What a message that went through its message grain leaves in other stores, deleted together: its archive
/// entry, its print job, its message grain's state and (for a message sent on its own, whose files are its own) its
/// documents.</summary>
public sealed class MessageTraces(IArchiveStore archive, IPrintStore print, IDocumentStore documents, IGrainStates states)
{
    /// <summary>How many of each a deletion removed.</summary>
    public readonly record struct Deleted(long ArchiveEntries, long PrintJobs, long DocumentFiles, long MessageStates)
    {
        public static Deleted operator +(Deleted a, Deleted b) =>
            new(a.ArchiveEntries + b.ArchiveEntries, a.PrintJobs + b.PrintJobs, a.DocumentFiles + b.DocumentFiles, a.MessageStates + b.MessageStates);
    }

    /// <summary>The grain state goes after the entries it leads to, so a deletion cut short can start again from it.</summary>
    public async Task<Deleted> Delete(IReadOnlyList<Guid> messageUuids, bool documentsToo)
    {
        if (messageUuids.Count == 0) return default;
        var archived = await archive.DeleteLetters(messageUuids);
        var printJobs = await print.Delete(messageUuids);
        var documentFiles = documentsToo ? await documents.DeleteAll(messageUuids) : 0;
        return new Deleted(archived, printJobs, documentFiles, await states.ClearMessages(messageUuids));
    }
}
