/*
 * The 32-bit-lane momentum step (Momentum.c: momentum_loop32 has the
 * arithmetic, momentum_fits_32_bits the conditions) written with AVX2
 * intrinsics, eight elements per vector: the compiler's own vectorisation of
 * that loop keeps too many values live and spills. Same codes and tallies as
 * momentum_loop32, element for element; the tests run both.
 *
 * Per block of 512 elements, two passes:
 *  A. the updates u = narrow(s * factor) in 64-bit lanes (vpmuldq; the right
 *     shift through a 2^62 bias, as momentum_loop32), into a small Int32 buffer;
 *  B. the narrowings of the velocity (m * v; u moved to the velocity format;
 *     v + u') and of the weight, in 32-bit lanes.
 * Counts are taken with movemask + popcount into scalar totals; the largest
 * magnitudes stay in vectors.
 */
#include "Internal.h"
#if CK_X86
#include <immintrin.h>

typedef struct {
    __m128i left, right; /* shift counts */
    __m256i mask, half, min, max;
} narrowing32;

CK_TARGET_AVX2 static narrowing32 narrowing32_make(int shift, int32_t min_code, int32_t max_code) {
    int left = shift < 0 ? -shift : 0, right = shift > 0 ? shift : 0;
    narrowing32 n;
    n.left = _mm_cvtsi32_si128(left);
    n.right = _mm_cvtsi32_si128(right);
    n.mask = _mm256_set1_epi32((int32_t)(((uint32_t)1 << right) - 1));
    n.half = _mm256_set1_epi32(right > 0 ? (int32_t)((uint32_t)1 << (right - 1)) : INT32_MAX);
    n.min = _mm256_set1_epi32(min_code);
    n.max = _mm256_set1_epi32(max_code);
    return n;
}

/* Number of lanes set in a 32-bit-lane mask. */
CK_TARGET_AVX2 static inline long lanes32(__m256i mask) {
    return __builtin_popcount((unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(mask)));
}

/* |x| as unsigned (abs of INT32_MIN is 2^31 read unsigned). */
CK_TARGET_AVX2 static inline __m256i magnitude32(__m256i x) { return _mm256_abs_epi32(x); }

/*
 * One narrowing of eight sums (narrow32's arithmetic): codes returned, counts
 * and the largest |sum| accumulated. `shape`: CK_SHIFT_NONE skips the shift and
 * rounding; CK_SHIFT_RIGHT skips the left shift.
 */
CK_TARGET_AVX2 static inline __attribute__((always_inline)) __m256i narrow8(const narrowing32 *n, int mode, int shape,
                                                                            __m256i sum, long *saturations,
                                                                            long *rounded_to_zero, __m256i *largest) {
    const __m256i zero = _mm256_setzero_si256();
    __m256i shifted;
    if (shape == CK_SHIFT_NONE) {
        shifted = sum;
    } else {
        __m256i floor = shape == CK_SHIFT_RIGHT ? _mm256_sra_epi32(sum, n->right)
                                                : _mm256_sra_epi32(_mm256_sll_epi32(sum, n->left), n->right);
        __m256i remainder = _mm256_and_si256(sum, n->mask);
        __m256i up = zero;
        if (mode == CK_ROUND_NEAREST_EVEN || mode == CK_ROUND_NEAREST_AWAY) {
            __m256i above = _mm256_cmpgt_epi32(remainder, n->half);
            __m256i tie = _mm256_cmpeq_epi32(remainder, n->half);
            __m256i tie_up = mode == CK_ROUND_NEAREST_EVEN ? _mm256_srai_epi32(_mm256_slli_epi32(floor, 31), 31)
                                                           : _mm256_cmpgt_epi32(sum, _mm256_set1_epi32(-1));
            up = _mm256_or_si256(above, _mm256_and_si256(tie, tie_up));
        }
        shifted = _mm256_sub_epi32(floor, up); /* up is -1 where rounding up */
    }
    __m256i code = _mm256_min_epi32(_mm256_max_epi32(shifted, n->min), n->max);
    __m256i kept = _mm256_cmpeq_epi32(code, shifted);
    *saturations += 8 - lanes32(kept);
    __m256i vanished = _mm256_andnot_si256(_mm256_cmpeq_epi32(sum, zero), _mm256_cmpeq_epi32(code, zero));
    *rounded_to_zero += lanes32(_mm256_and_si256(vanished, kept));
    *largest = _mm256_max_epu32(*largest, magnitude32(sum));
    return code;
}

/* Eight Int16 codes widened to Int32 lanes, and back with saturation (the codes fit). */
CK_TARGET_AVX2 static inline __m256i load16(const int16_t *p) {
    return _mm256_cvtepi16_epi32(_mm_loadu_si128((const __m128i *)p));
}
CK_TARGET_AVX2 static inline void store16(int16_t *p, __m256i x) {
    __m256i packed = _mm256_packs_epi32(x, x); /* lanes 0-3 and 4-7 in each half */
    _mm_storeu_si128((__m128i *)p, _mm256_castsi256_si128(_mm256_permute4x64_epi64(packed, 0x08)));
}

CK_TARGET_AVX2 static inline uint32_t horizontal_max(__m256i x) {
    __m128i m = _mm_max_epu32(_mm256_castsi256_si128(x), _mm256_extracti128_si256(x, 1));
    m = _mm_max_epu32(m, _mm_shuffle_epi32(m, 0x4E));
    m = _mm_max_epu32(m, _mm_shuffle_epi32(m, 0xB1));
    return (uint32_t)_mm_cvtsi128_si32(m);
}

enum { block_elements = 512 };

/* Pass A: updates[j] = narrow(sums[j] * factor) for j < count (a multiple of 4 or the tail). */
CK_TARGET_AVX2 static inline __attribute__((always_inline)) void updates_block(
    const int64_t *sums, long count, int mode, int64_t factor, int shift, int32_t min_code, int32_t max_code,
    int32_t *updates, long *saturations, long *rounded_to_zero, __m256i *largest_sum) {
    const __m256i zero = _mm256_setzero_si256(), one = _mm256_set1_epi64x(1);
    const __m256i factor4 = _mm256_set1_epi64x(factor);
    const __m256i bias = _mm256_set1_epi64x((int64_t)1 << 62);
    const __m256i bias_shifted = _mm256_set1_epi64x(((int64_t)1 << 62) >> shift);
    const __m256i mask = _mm256_set1_epi64x((int64_t)(((uint64_t)1 << shift) - 1));
    const __m256i half = _mm256_set1_epi64x(shift > 0 ? (int64_t)((uint64_t)1 << (shift - 1)) : INT64_MAX);
    const __m256i low = _mm256_set1_epi64x(min_code), high = _mm256_set1_epi64x(max_code);
    const __m128i count_right = _mm_cvtsi32_si128(shift);
    const __m256i low_dwords = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
    long j = 0;
    for (; j + 4 <= count; j += 4) {
        __m256i s = _mm256_loadu_si256((const __m256i *)(sums + j)); /* each inside Int32 */
        __m256i m = _mm256_mul_epi32(s, factor4);
        __m256i floor = _mm256_sub_epi64(_mm256_srl_epi64(_mm256_add_epi64(m, bias), count_right), bias_shifted);
        __m256i up = zero;
        if (mode == CK_ROUND_NEAREST_EVEN || mode == CK_ROUND_NEAREST_AWAY) {
            __m256i remainder = _mm256_and_si256(m, mask);
            __m256i above = _mm256_cmpgt_epi64(remainder, half);
            __m256i tie = _mm256_cmpeq_epi64(remainder, half);
            __m256i tie_up = mode == CK_ROUND_NEAREST_EVEN ? _mm256_cmpeq_epi64(_mm256_and_si256(floor, one), one)
                                                           : _mm256_cmpgt_epi64(m, _mm256_set1_epi64x(-1));
            up = _mm256_or_si256(above, _mm256_and_si256(tie, tie_up));
        }
        __m256i shifted = _mm256_sub_epi64(floor, up);
        __m256i below_min = _mm256_cmpgt_epi64(low, shifted), above_max = _mm256_cmpgt_epi64(shifted, high);
        __m256i code = _mm256_blendv_epi8(_mm256_blendv_epi8(shifted, low, below_min), high, above_max);
        __m256i saturated = _mm256_or_si256(below_min, above_max);
        __m256i vanished = _mm256_andnot_si256(_mm256_cmpeq_epi64(m, zero), _mm256_cmpeq_epi64(code, zero));
        *saturations += __builtin_popcount((unsigned)_mm256_movemask_pd(_mm256_castsi256_pd(saturated)));
        *rounded_to_zero +=
            __builtin_popcount((unsigned)_mm256_movemask_pd(_mm256_castsi256_pd(_mm256_andnot_si256(saturated, vanished))));
        /* Low dwords of code and s into the low 128 bits. */
        __m128i code32 = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(code, low_dwords));
        __m128i s32 = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(s, low_dwords));
        _mm_storeu_si128((__m128i *)(updates + j), code32);
        *largest_sum = _mm256_max_epu32(*largest_sum, _mm256_zextsi128_si256(_mm_abs_epi32(s32)));
    }
    /* The tail (fewer than four), element by element with the same arithmetic. */
    uint32_t tail_largest = 0;
    for (; j < count; j++) {
        int32_t s = (int32_t)sums[j];
        uint32_t magnitude = s < 0 ? 0u - (uint32_t)s : (uint32_t)s;
        tail_largest = magnitude > tail_largest ? magnitude : tail_largest;
        int64_t m = (int64_t)s * factor;
        int64_t floor = (int64_t)((uint64_t)(m + ((int64_t)1 << 62)) >> shift) - (((int64_t)1 << 62) >> shift);
        int64_t remainder = m & (int64_t)(((uint64_t)1 << shift) - 1);
        int64_t half1 = shift > 0 ? (int64_t)((uint64_t)1 << (shift - 1)) : INT64_MAX;
        int64_t shifted = floor;
        if (mode == CK_ROUND_NEAREST_EVEN) shifted += remainder > half1 || (remainder == half1 && (floor & 1));
        if (mode == CK_ROUND_NEAREST_AWAY) shifted += remainder > half1 || (remainder == half1 && m >= 0);
        int32_t u = (int32_t)(shifted < min_code ? min_code : shifted > max_code ? max_code : shifted);
        int saturated = shifted < min_code || shifted > max_code;
        *saturations += saturated;
        *rounded_to_zero += !saturated && u == 0 && m != 0;
        updates[j] = u;
    }
    *largest_sum = _mm256_max_epu32(*largest_sum, _mm256_set1_epi32((int32_t)tail_largest));
}

CK_TARGET_AVX2 static inline __attribute__((always_inline)) void momentum32_x86(const ck_momentum_layer *layer, int mode,
                                                                                int with_updates, ck_narrowing_counts counts[5],
                                                                                long *unmoved) {
    const ck_narrowing_spec *spec = layer->narrowings;
    const narrowing32 n0 = narrowing32_make(spec[0].shift, spec[0].min_code, spec[0].max_code);
    const narrowing32 n2 = narrowing32_make(spec[2].shift, spec[2].min_code, spec[2].max_code);
    const narrowing32 n3 = narrowing32_make(0, spec[3].min_code, spec[3].max_code);
    const narrowing32 n4 = narrowing32_make(spec[4].shift, spec[4].min_code, spec[4].max_code);
    const __m256i momentum = _mm256_set1_epi32((int32_t)layer->momentum_mantissa);
    const __m128i weight_align = _mm_cvtsi32_si128(layer->weight_align);
    const __m128i velocity_align = _mm_cvtsi32_si128(layer->velocity_align);
    const __m256i zero = _mm256_setzero_si256();
    long saturations[5] = {0, 0, 0, 0, 0}, rounded_to_zero[5] = {0, 0, 0, 0, 0}, moved_not = 0;
    __m256i largest0 = zero, largest_sum = zero, largest2 = zero, largest3 = zero, largest4 = zero;
    int16_t *weights = layer->weights, *velocity = layer->velocity;
    int32_t updates[block_elements];
    const long count = layer->count;
    for (long start = 0; start < count; start += block_elements) {
        const long block = ck_min(count - start, block_elements);
        if (with_updates) {
            updates_block(layer->update_sums + start, block, mode, layer->factor_mantissa, spec[1].shift, spec[1].min_code,
                          spec[1].max_code, updates, &saturations[1], &rounded_to_zero[1], &largest_sum);
        }
        /* Whole vectors; a ragged end is padded into small local arrays. */
        for (long j = 0; j < block; j += 8) {
            const long lanes = ck_min(block - j, 8);
            int16_t weight_lanes[8] = {0}, velocity_lanes[8] = {0};
            int32_t update_lanes[8] = {0};
            const int16_t *w_source = weights + start + j, *v_source = velocity + start + j;
            const int32_t *u_source = updates + j;
            if (lanes < 8) {
                memcpy(weight_lanes, w_source, (size_t)lanes * sizeof(int16_t));
                memcpy(velocity_lanes, v_source, (size_t)lanes * sizeof(int16_t));
                if (with_updates) memcpy(update_lanes, u_source, (size_t)lanes * sizeof(int32_t));
                w_source = weight_lanes;
                v_source = velocity_lanes;
                u_source = update_lanes;
            }
            /* Padding lanes are zeros: every narrowing maps 0 to 0 without
               counting (a format holds 0), and 0 is no larger magnitude. */
            __m256i v = narrow8(&n0, mode, CK_SHIFT_RIGHT, _mm256_mullo_epi32(load16(v_source), momentum), &saturations[0],
                                &rounded_to_zero[0], &largest0);
            if (with_updates) {
                __m256i u = _mm256_loadu_si256((const __m256i *)u_source);
                __m256i u_velocity = narrow8(&n2, mode, CK_SHIFT_ANY, u, &saturations[2], &rounded_to_zero[2], &largest2);
                v = narrow8(&n3, CK_ROUND_TRUNCATE, CK_SHIFT_NONE, _mm256_add_epi32(v, u_velocity), &saturations[3],
                            &rounded_to_zero[3], &largest3);
            }
            __m256i old = load16(w_source);
            __m256i difference = _mm256_sub_epi32(_mm256_sll_epi32(old, weight_align), _mm256_sll_epi32(v, velocity_align));
            __m256i w = narrow8(&n4, mode, CK_SHIFT_RIGHT, difference, &saturations[4], &rounded_to_zero[4], &largest4);
            __m256i unmoved_lanes = _mm256_andnot_si256(_mm256_cmpeq_epi32(v, zero), _mm256_cmpeq_epi32(w, old));
            moved_not += lanes32(unmoved_lanes);
            if (lanes == 8) {
                store16(velocity + start + j, v);
                store16(weights + start + j, w);
            } else {
                store16(velocity_lanes, v);
                store16(weight_lanes, w);
                memcpy(velocity + start + j, velocity_lanes, (size_t)lanes * sizeof(int16_t));
                memcpy(weights + start + j, weight_lanes, (size_t)lanes * sizeof(int16_t));
            }
        }
    }
    uint64_t factor = layer->factor_mantissa < 0 ? (uint64_t)0 - (uint64_t)layer->factor_mantissa
                                                 : (uint64_t)layer->factor_mantissa;
    ck_narrowing_tally t0 = {saturations[0], rounded_to_zero[0], horizontal_max(largest0)};
    ck_narrowing_counts_add(&counts[0], t0);
    if (with_updates) {
        ck_narrowing_tally t1 = {saturations[1], rounded_to_zero[1], (uint64_t)horizontal_max(largest_sum) * factor};
        ck_narrowing_tally t2 = {saturations[2], rounded_to_zero[2], horizontal_max(largest2)};
        ck_narrowing_tally t3 = {saturations[3], rounded_to_zero[3], horizontal_max(largest3)};
        ck_narrowing_counts_add(&counts[1], t1);
        ck_narrowing_counts_add(&counts[2], t2);
        ck_narrowing_counts_add(&counts[3], t3);
    }
    ck_narrowing_tally t4 = {saturations[4], rounded_to_zero[4], horizontal_max(largest4)};
    ck_narrowing_counts_add(&counts[4], t4);
    *unmoved += moved_not;
}

#define CK_MOMENTUM32_X86_CASE(mode) \
    case mode: \
        if (layer->update_sums) momentum32_x86(layer, mode, 1, counts, unmoved); \
        else momentum32_x86(layer, mode, 0, counts, unmoved); \
        return;

CK_TARGET_AVX2 void ck_momentum32_x86(const ck_momentum_layer *layer, ck_narrowing_counts counts[5], long *unmoved) {
    switch (layer->narrowings[0].mode) {
    CK_MOMENTUM32_X86_CASE(CK_ROUND_NEAREST_EVEN)
    CK_MOMENTUM32_X86_CASE(CK_ROUND_NEAREST_AWAY)
    CK_MOMENTUM32_X86_CASE(CK_ROUND_TRUNCATE)
    }
}
#endif
