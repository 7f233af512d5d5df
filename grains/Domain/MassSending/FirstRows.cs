namespace DigitalPost.Domain.MassSending;

/// <summary>
/// The row in which each number of a file (a CPR or CVR number, as a number) came first: the duplicate check of a
/// registry file, which must span the whole file while its rows are read and loaded a chunk at a time. A national file
/// has millions of rows, so each number and its row are packed in one <c>long</c> of an open-addressed table, about
/// 11 bytes a row; a dictionary of the numbers as strings took about 100.
/// </summary>
internal sealed class FirstRows
{
    private const int RowBits = 30;
    private const long RowMask = (1L << RowBits) - 1;
    /// <summary>Ten decimal digits need 34 bits, which leave 30 for the row. Numbers are stored plus one, so that no
    /// entry is 0, the empty slot.</summary>
    private const long MaxNumber = (1L << (64 - RowBits)) - 2;

    private long[] _slots = new long[1024];
    private int _count;

    /// <summary>The row <paramref name="number"/> came first in, or null after recording <paramref name="row"/> as
    /// that row: one look in the table for the usual row, whose number is new.</summary>
    public int? FirstOrAdd(long number, int row)
    {
        if (number is < 0 or > MaxNumber) throw new ArgumentOutOfRangeException(nameof(number), "more than ten digits");
        if (row is < 1 or > (int)RowMask) throw new ArgumentOutOfRangeException(nameof(row), $"rows count from 1 to {RowMask}");
        var key = number + 1;
        var mask = _slots.Length - 1;
        for (var i = Slot(key, mask); ; i = (i + 1) & mask)
        {
            var entry = _slots[i];
            if (entry == 0)
            {
                _slots[i] = (key << RowBits) | (long)row;
                // At most three quarters full: linear probing stays short.
                if (++_count > _slots.Length / 4 * 3) Grow();
                return null;
            }
            if (entry >>> RowBits != key) continue;
            if ((entry & RowMask) != 0) return (int)(entry & RowMask);
            _slots[i] = entry | (long)row;
            return null;
        }
    }

    /// <summary>Undoes <see cref="FirstOrAdd"/> for a row that was rejected after all: its number stays free for a
    /// later row. The slot keeps the number with no row, so that the numbers probed past it are still found.</summary>
    public void Forget(long number)
    {
        var key = number + 1;
        var mask = _slots.Length - 1;
        for (var i = Slot(key, mask); _slots[i] != 0; i = (i + 1) & mask)
            if (_slots[i] >>> RowBits == key)
            {
                _slots[i] &= ~RowMask;
                return;
            }
    }

    /// <summary>The number of a string of ASCII digits (the caller has checked it is one).</summary>
    public static long Number(string digits)
    {
        var value = 0L;
        foreach (var c in digits) value = value * 10 + (c - '0');
        return value;
    }

    private void Grow()
    {
        var old = _slots;
        _slots = new long[old.Length * 2];
        var mask = _slots.Length - 1;
        foreach (var entry in old)
        {
            if (entry == 0) continue;
            var i = Slot(entry >>> RowBits, mask);
            while (_slots[i] != 0) i = (i + 1) & mask;
            _slots[i] = entry;
        }
    }

    /// <summary>Numbers within the same 128 stay together (a file sorted by number, or by date of birth, then looks
    /// near where it last looked: a table of tens of megabytes looked up at random cost a cache and page-table miss
    /// per row), while the runs of 128 are spread over the table by Fibonacci hashing.</summary>
    private static int Slot(long key, int mask) => (int)(((ulong)(key >> 7) * 0x9E3779B97F4A7C15UL >> 32 << 7) | ((ulong)key & 127)) & mask;
}
