/*
 * Float32 elementwise loops of a training step, per path: the momentum SGD
 * step, the dropout mask draw and the transpose of a block (conv layouts; also
 * of Int64 exact sums, the fixed-point engine's conv layouts).
 * Each element depends on its index only, so callers may share a range among
 * threads and get the same floats.
 */
#include "Internal.h"
#if CK_X86
#include <immintrin.h>
#endif

/* v = momentum * v + scale * u, then w -= v: two rounded products and a
   rounded sum, never a fused multiply-add (the Swift loop it replaced, and
   every path, round the same way). */
static inline __attribute__((always_inline)) void float_momentum_loop(float *weights, float *velocity, const float *update,
                                                                long count, float momentum, float scale) {
#pragma clang fp contract(off)
    for (long i = 0; i < count; i++) {
        float v = momentum * velocity[i] + scale * update[i];
        velocity[i] = v;
        weights[i] -= v;
    }
}

static void float_momentum_portable(float *w, float *v, const float *u, long count, float momentum, float scale) {
    float_momentum_loop(w, v, u, count, momentum, scale);
}
#if CK_X86
CK_TARGET_AVX2 static void float_momentum_avx2(float *w, float *v, const float *u, long count, float momentum, float scale) {
    float_momentum_loop(w, v, u, count, momentum, scale);
}
CK_TARGET_AVX512 static void float_momentum_avx512(float *w, float *v, const float *u, long count, float momentum, float scale) {
    float_momentum_loop(w, v, u, count, momentum, scale);
}
#endif

void ck_float_momentum(float *weights, float *velocity, const float *update, long count, float momentum, float scale) {
#if CK_X86
    int path = ck_active_path();
    if (path == CK_PATH_AVX512) { float_momentum_avx512(weights, velocity, update, count, momentum, scale); return; }
    if (path == CK_PATH_AVX2) { float_momentum_avx2(weights, velocity, update, count, momentum, scale); return; }
#endif
    float_momentum_portable(weights, velocity, update, count, momentum, scale);
}

static inline __attribute__((always_inline)) void bernoulli_loop(float *values, long count, uint64_t base,
                                                                 uint64_t first_index, uint64_t limit, float value) {
    const uint64_t golden = 0x9E3779B97F4A7C15ull;
    for (long i = 0; i < count; i++) {
        uint64_t bits = ck_mix(base + (first_index + (uint64_t)i + 1) * golden);
        values[i] = (bits >> 40) < limit ? value : 0.0f;
    }
}

static void bernoulli_portable(float *values, long count, uint64_t base, uint64_t first, uint64_t limit, float value) {
    bernoulli_loop(values, count, base, first, limit, value);
}
#if CK_X86
CK_TARGET_AVX2 static void bernoulli_avx2(float *values, long count, uint64_t base, uint64_t first, uint64_t limit,
                                          float value) {
    bernoulli_loop(values, count, base, first, limit, value);
}
CK_TARGET_AVX512 static void bernoulli_avx512(float *values, long count, uint64_t base, uint64_t first, uint64_t limit,
                                              float value) {
    bernoulli_loop(values, count, base, first, limit, value);
}
#endif

void ck_fill_bernoulli(float *values, long count, uint64_t base, uint64_t first_index, uint64_t limit, float value) {
#if CK_X86
    int path = ck_active_path();
    if (path == CK_PATH_AVX512) { bernoulli_avx512(values, count, base, first_index, limit, value); return; }
    if (path == CK_PATH_AVX2) { bernoulli_avx2(values, count, base, first_index, limit, value); return; }
#endif
    bernoulli_portable(values, count, base, first_index, limit, value);
}

void ck_transpose_float(const float *source, long rows, long columns, float *target) {
    long r = 0;
#if CK_X86
    /* Eight rows at a time by the 8 x 8 in-register transpose (moves only). */
    if (ck_active_path() != CK_PATH_SCALAR)
        for (; r + 8 <= rows; r += 8) ck_pack_columns8_avx2(source + r * columns, columns, columns, target + r, rows);
#endif
    for (; r < rows; r++)
        for (long c = 0; c < columns; c++) target[c * rows + r] = source[r * columns + c];
}

#if CK_X86
/* Four rows x four columns of 64-bit values transposed in registers. */
CK_TARGET_AVX2 static void transpose_int64_avx2(const int64_t *source, long rows, long columns, int64_t *target) {
    long r = 0;
    for (; r + 4 <= rows; r += 4) {
        long c = 0;
        for (; c + 4 <= columns; c += 4) {
            const int64_t *s = source + r * columns + c;
            __m256i r0 = _mm256_loadu_si256((const __m256i *)s), r1 = _mm256_loadu_si256((const __m256i *)(s + columns));
            __m256i r2 = _mm256_loadu_si256((const __m256i *)(s + 2 * columns));
            __m256i r3 = _mm256_loadu_si256((const __m256i *)(s + 3 * columns));
            __m256i t0 = _mm256_unpacklo_epi64(r0, r1), t1 = _mm256_unpackhi_epi64(r0, r1);
            __m256i t2 = _mm256_unpacklo_epi64(r2, r3), t3 = _mm256_unpackhi_epi64(r2, r3);
            int64_t *t = target + c * rows + r;
            _mm256_storeu_si256((__m256i *)t, _mm256_permute2x128_si256(t0, t2, 0x20));
            _mm256_storeu_si256((__m256i *)(t + rows), _mm256_permute2x128_si256(t1, t3, 0x20));
            _mm256_storeu_si256((__m256i *)(t + 2 * rows), _mm256_permute2x128_si256(t0, t2, 0x31));
            _mm256_storeu_si256((__m256i *)(t + 3 * rows), _mm256_permute2x128_si256(t1, t3, 0x31));
        }
        for (; c < columns; c++)
            for (long g = 0; g < 4; g++) target[c * rows + r + g] = source[(r + g) * columns + c];
    }
    for (; r < rows; r++)
        for (long c = 0; c < columns; c++) target[c * rows + r] = source[r * columns + c];
}
#endif

void ck_transpose_int64(const int64_t *source, long rows, long columns, int64_t *target) {
#if CK_X86
    if (ck_active_path() != CK_PATH_SCALAR) {
        transpose_int64_avx2(source, rows, columns, target);
        return;
    }
#endif
    for (long r = 0; r < rows; r++)
        for (long c = 0; c < columns; c++) target[c * rows + r] = source[r * columns + c];
}
