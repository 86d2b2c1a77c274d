#include "base/rand.h"

void fl_rand_seed(fl_rand_t *r, uint64_t seed)
{
    r->state = seed;
}

uint64_t fl_rand_next(fl_rand_t *r)
{
    /* splitmix64: the constants are the published ones (golden-ratio increment, then the
     * Stafford "Mix13" finalizer). */
    uint64_t z = (r->state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

int64_t fl_rand_range(fl_rand_t *r, int64_t lo, int64_t hi)
{
    if (lo > hi)
        return lo;
    /* Work in unsigned arithmetic so that spans up to the full 64-bit range do not overflow. */
    uint64_t span = (uint64_t)hi - (uint64_t)lo + 1;
    if (span == 0)
        return (int64_t)fl_rand_next(r);
    /* Reject the lowest (2^64 mod span) values so that every residue is equally likely. */
    uint64_t threshold = (0 - span) % span;
    uint64_t x;
    do {
        x = fl_rand_next(r);
    } while (x < threshold);
    return (int64_t)((uint64_t)lo + x % span);
}
