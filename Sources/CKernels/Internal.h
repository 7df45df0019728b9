#ifndef CKERNELS_INTERNAL_H
#define CKERNELS_INTERNAL_H

#include "include/CKernels.h"
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#define CK_X86 1
#define CK_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define CK_TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni")))
#else
#define CK_X86 0
#endif

/* 64-byte aligned scratch memory (packed panels). */
static inline void *ck_allocate(size_t bytes) {
    size_t rounded = (bytes + 63) / 64 * 64;
    return aligned_alloc(64, rounded ? rounded : 64);
}

static inline long ck_min(long a, long b) { return a < b ? a : b; }

/*
 * Splits k into equal blocks of at most `limit` (a multiple of `group`), each
 * rounded up to a multiple of `group` except possibly the last: a function of
 * k only, so every thread and every tile sees the same blocks.
 */
static inline long ck_block_depth(long k, long limit, long group) {
    long blocks = (k + limit - 1) / limit;
    long depth = (k + blocks - 1) / blocks;
    return (depth + group - 1) / group * group;
}

/* Float micro-kernels: an mr x nr tile of C from kc packed steps. */
typedef void (*ck_float_tile)(long kc, const float *a_packed, const float *b_packed,
                              float *c, long ldc, int add_to_c);

void ck_float_tile_avx2(long kc, const float *a_packed, const float *b_packed, float *c, long ldc, int add_to_c);
void ck_float_tile_avx512(long kc, const float *a_packed, const float *b_packed, float *c, long ldc, int add_to_c);

/*
 * Integer micro-kernels: an mr x nr tile of Int32 sums over kc/group packed
 * groups, widened, shifted left by `shift` and stored or added into Int64 C.
 * `column_offsets` (QUADS8 only) holds 128 * sum of the block's B column,
 * subtracted to undo A's +128 offset.
 */
typedef void (*ck_int_tile)(long groups, const void *a_packed, const void *b_packed,
                            const int32_t *column_offsets, int64_t *c, long ldc, int add_to_c, int shift);

void ck_pairs_tile_avx2(long groups, const void *a_packed, const void *b_packed,
                        const int32_t *column_offsets, int64_t *c, long ldc, int add_to_c, int shift);
void ck_pairs_tile_avx512(long groups, const void *a_packed, const void *b_packed,
                          const int32_t *column_offsets, int64_t *c, long ldc, int add_to_c, int shift);
void ck_quads_tile_avx512(long groups, const void *a_packed, const void *b_packed,
                          const int32_t *column_offsets, int64_t *c, long ldc, int add_to_c, int shift);

/*
 * target[p * target_stride + j] = source[j * source_stride + p] for j < 8 and
 * p < depth: eight stored rows become eight columns of a packed panel.
 */
void ck_pack_columns8_avx2(const float *source, long source_stride, long depth, float *target, long target_stride);

/*
 * Packs the first `depth` (a multiple of 64) int8-range codes of a contiguous
 * column as byte quads: words[q * word_stride] = codes 4q..4q+3 as bytes.
 * Returns the sum of the codes (for the quads' column offset).
 */
int32_t ck_pack_quads_column_avx512(const int16_t *column, long depth, uint32_t *words, long word_stride);

double ck_peak_loop_avx2(int kind, long iterations);
double ck_peak_loop_avx512(int kind, long iterations);

#endif
