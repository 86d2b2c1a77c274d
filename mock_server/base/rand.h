/*
 * A small seeded pseudo-random generator (splitmix64, Steele, Lea and Flood, "Fast splittable
 * pseudorandom number generators", OOPSLA 2014).
 *
 * Faultline uses it wherever a scenario asks for randomness (interval jitter now, seeded faults
 * in the chaos layer later) so that a scenario replays identically: the same seed gives the same
 * sequence on every platform and compiler, because the generator is pure 64-bit unsigned integer
 * arithmetic with no floating point and no library calls. It is not for cryptography.
 */
#ifndef FL_RAND_H
#define FL_RAND_H

#include <stdint.h>

/** Generator state; plain value, no resources (copy it to fork a sequence). */
typedef struct fl_rand_s {
    uint64_t state; /* advanced by a fixed odd constant per draw */
} fl_rand_t;

/** Starts the sequence for seed. Any seed, including 0, is valid. Never fails. */
void fl_rand_seed(fl_rand_t *r, uint64_t seed);

/** Returns the next 64-bit value of the sequence. */
uint64_t fl_rand_next(fl_rand_t *r);

/**
 * Returns a uniform integer in [lo, hi], both inclusive, without modulo bias (draws again,
 * rarely, when a value falls in the uneven tail). lo > hi returns lo and draws nothing.
 */
int64_t fl_rand_range(fl_rand_t *r, int64_t lo, int64_t hi);

#endif
