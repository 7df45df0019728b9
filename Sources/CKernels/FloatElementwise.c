/*
 * Float32 elementwise loops of a training step, per path: the momentum SGD
 * step and the dropout mask draw.
 * Each element depends on its index only, so callers may share a range among
 * threads and get the same floats.
 */
#include "Internal.h"

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
    for (long i = 0; i < count; i++) {
        uint64_t bits = ck_draw_bits(base, first_index + (uint64_t)i);
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
