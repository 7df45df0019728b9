/*
 * A persistent pool of helper threads for ck_run_parts. A helper that has just
 * finished a part spins for a while (about half a millisecond) waiting for the
 * next call before it sleeps on a condition variable: matrix products come
 * back to back in training, and waking a sleeping thread costs tens of
 * microseconds, a fifth of a 64x784x1024 product on two cores.
 */
#include "Internal.h"
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#if CK_X86
#define CK_SPIN_PAUSE() _mm_pause()
#else
#define CK_SPIN_PAUSE() ((void)0)
#endif

enum { max_helpers = 63 };
static const long spin_nanoseconds = 500000;

/* The call in progress. `claims` is generation << 32 | parts claimed. Each
   call first closes the previous generation (a new one with every part taken)
   and only then changes the job and opens a third: a helper late from the last
   call, holding its word, fails to claim (the word has changed) instead of
   taking a part of the new call when that call has more parts. */
static _Atomic uint64_t claims;
static const uint64_t all_claimed = 0xffffffffu; /* the claimed count of a closed generation */
static _Atomic long parts_total, parts_unfinished;
static ck_part_body job_body;
static void *job_context;

static pthread_mutex_t busy = PTHREAD_MUTEX_INITIALIZER;   /* one call at a time */
static pthread_mutex_t sleep_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static _Atomic int sleepers;
static int helper_count;

static long nanoseconds_now(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec * 1000000000L + now.tv_nsec;
}

/* Runs parts of the current call until none is left to claim. */
static void run_claimed_parts(uint32_t generation) {
    for (;;) {
        uint64_t word = atomic_load(&claims);
        if ((uint32_t)(word >> 32) != generation) return;
        uint64_t part = word & all_claimed;
        if (part >= (uint64_t)atomic_load(&parts_total)) return;
        if (!atomic_compare_exchange_weak(&claims, &word, word + 1)) continue;
        job_body(job_context, (long)part);
        atomic_fetch_sub(&parts_unfinished, 1);
    }
}

/* `started_in`: the generation when the helper was made, before the call that
   made it opened its own, so that the new helper can take part in that call. */
static void *helper_main(void *started_in) {
    uint32_t seen = (uint32_t)(uintptr_t)started_in;
    for (;;) {
        long deadline = nanoseconds_now() + spin_nanoseconds;
        uint32_t generation;
        for (long spins = 0;; spins++) {
            generation = (uint32_t)(atomic_load(&claims) >> 32);
            if (generation != seen) break;
            CK_SPIN_PAUSE();
            if ((spins & 255) == 255 && nanoseconds_now() > deadline) {
                pthread_mutex_lock(&sleep_lock);
                atomic_fetch_add(&sleepers, 1);
                while ((generation = (uint32_t)(atomic_load(&claims) >> 32)) == seen)
                    pthread_cond_wait(&wake, &sleep_lock);
                atomic_fetch_sub(&sleepers, 1);
                pthread_mutex_unlock(&sleep_lock);
                break;
            }
        }
        seen = generation;
        run_claimed_parts(generation);
    }
    return NULL;
}

/* Starts helpers until there are `wanted` (under `busy`). */
static void ensure_helpers(int wanted) {
    while (helper_count < wanted) {
        pthread_t thread;
        pthread_attr_t attributes;
        pthread_attr_init(&attributes);
        pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
        uintptr_t generation = (uint32_t)(atomic_load(&claims) >> 32);
        int failed = pthread_create(&thread, &attributes, helper_main, (void *)generation);
        pthread_attr_destroy(&attributes);
        if (failed) return;
        helper_count++;
    }
}

int ck_run_parts(long parts, ck_part_body body, void *context) {
    if (parts <= 1) {
        if (parts == 1) body(context, 0);
        return 1;
    }
    if (pthread_mutex_trylock(&busy) != 0) return 0;
    ensure_helpers((int)ck_min(parts - 1, max_helpers));
    if (helper_count == 0) {
        pthread_mutex_unlock(&busy);
        return 0;
    }
    uint32_t closed = (uint32_t)(atomic_load(&claims) >> 32) + 1, generation = closed + 1;
    atomic_store(&claims, (uint64_t)closed << 32 | all_claimed);
    job_body = body;
    job_context = context;
    atomic_store(&parts_total, parts);
    atomic_store(&parts_unfinished, parts);
    atomic_store(&claims, (uint64_t)generation << 32);
    if (atomic_load(&sleepers) > 0) {
        pthread_mutex_lock(&sleep_lock);
        pthread_cond_broadcast(&wake);
        pthread_mutex_unlock(&sleep_lock);
    }
    run_claimed_parts(generation);
    while (atomic_load(&parts_unfinished) > 0) CK_SPIN_PAUSE();
    pthread_mutex_unlock(&busy);
    return 1;
}
