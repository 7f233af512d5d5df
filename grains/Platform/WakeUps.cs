using DigitalPost.Contracts;
using Microsoft.Extensions.Options;

namespace DigitalPost.Infrastructure;

/// <summary>Schedules durable wake-ups: the grain's id and due time go to the scheduler shard its id hashes to.</summary>
public sealed class WakeUps(IGrainFactory grains, IOptions<SchedulerOptions> options)
{
    public Task Schedule(GrainId target, DateTimeOffset due) =>
        grains.GetGrain<IWakeUpSchedulerGrain>(ShardOf(target)).Schedule(target, due);

    public long ShardOf(GrainId target) => target.GetUniformHashCode() % (uint)options.Value.Shards;

    /// <summary>Activates every shard; a silo does it as it starts.</summary>
    public Task ResumeAll() => Task.WhenAll(Enumerable.Range(0, options.Value.Shards)
        .Select(shard => grains.GetGrain<IWakeUpSchedulerGrain>(shard).Resume()));

    public async Task<ScheduleCounts> Counts()
    {
        var counts = await Task.WhenAll(Enumerable.Range(0, options.Value.Shards)
            .Select(shard => grains.GetGrain<IWakeUpSchedulerGrain>(shard).Counts()));
        return counts.Aggregate(ScheduleCounts.None, (a, b) => a + b);
    }
}
