using DigitalPost.Contracts;
using Orleans.Placement;
using Orleans.Runtime.Placement;

namespace DigitalPost.Grains;

/// <summary>Places a batch's partitions round the active silos by their number, so that a batch's work spreads evenly
/// over the cluster. Orleans' default (resource-optimised) placement decides on CPU and memory figures sampled every
/// few seconds, so a batch's partitions, all activated in the same instant by their batch, landed on one silo
/// together: that silo did more than half of a three-silo cluster's work.</summary>
[GenerateSerializer, Immutable, Alias("dp.PartitionPlacement")]
public sealed class PartitionPlacement : PlacementStrategy
{
    /// <summary>Which of <paramref name="silos"/> silos (in a list every silo sorts the same way) takes a partition:
    /// consecutive partitions go to consecutive silos, starting from a silo chosen by the batch, so that the silo
    /// given one partition fewer differs from batch to batch.</summary>
    public static int SiloOf(Guid batchId, int partition, int silos) =>
        (int)(((uint)batchId.GetHashCode() % (uint)silos + (uint)partition) % (uint)silos);
}

[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class PartitionPlacementAttribute() : PlacementAttribute(new PartitionPlacement());

public sealed class PartitionPlacementDirector : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var silos = context.GetCompatibleSilos(target);
        Array.Sort(silos);
        var (batchId, partition) = BatchPartitions.Parse(target.GrainIdentity.Key.ToString()!);
        return Task.FromResult(silos[PartitionPlacement.SiloOf(batchId, partition, silos.Length)]);
    }
}
