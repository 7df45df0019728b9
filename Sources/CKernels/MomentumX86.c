/*
 * The 32-bit-lane momentum step (Momentum.c: momentum_loop32 has the
 * arithmetic, momentum_fits_32_bits the conditions) written with AVX2
 * intrinsics, eight elements per vector: the compiler's own vectorisation of
 * that loop keeps too many values live and spills. Same codes and tallies as
 * momentum_loop32, element for element; the tests run both.
 *
 * Per block of 512 elements, two passes:
 *  A. the updates u = narrow(s * factor) into a small buffer: in 64-bit lanes
 *     (vpmuldq; the right shift through a 2^62 bias, as momentum_loop32), or
 *     in 32-bit lanes when the products fit in Int32 or, with the sums split in
 *     two 16-bit halves, a factor of at most 2^15 and a shift by 16 to 31 bits
 *     (int16 plans, and wide update sums of others; see update_products),
 *     moved on to the velocity format in the same loop (narrowing 2) unless
 *     pass B16 does that; or, for layers whose pass B runs in 16-bit lanes with
 *     products inside Int32 and an updates format narrower than Int16 (int8
 *     plans), sixteen at a time in 16-bit lanes together with their move to
 *     the velocity format, as the first loop of pass B16 (updates16, move16);
 *  B. the narrowings of the velocity (m * v; u moved to the velocity format;
 *     v + u') and of the weight, in 16-bit lanes where the values fit
 *     (pass B16), else in 32-bit lanes.
 * A layer whose update sums are all zero (a bound of 0) skips pass A.
 * Counts are kept in vector lanes (32-bit lanes per block, 16-bit lanes per
 * block of pass B16; the 64-bit pass A with movemask + popcount) and added
 * into scalar totals; the largest magnitudes stay in vectors.
 */
#include "Internal.h"
#if CK_X86

/*
 * One narrowing of eight sums (narrow32's arithmetic): codes returned, lanes
 * counted and the largest |sum| accumulated. `shape` as for shift_round8.
 */
CK_TARGET_AVX2 static inline __attribute__((always_inline)) __m256i narrow8(const narrowing32 *n, int mode, int shape,
                                                                            __m256i sum, lane_counts8 *counted,
                                                                            __m256i *largest) {
    *largest = _mm256_max_epu32(*largest, magnitude32(sum));
    return clamp8(n, shape, shift_round8(n, mode, shape, sum), sum, counted);
}

/* Eight Int16 codes widened to Int32 lanes, and back with saturation (the codes fit). */
CK_TARGET_AVX2 static inline __m256i load16(const int16_t *p) {
    return _mm256_cvtepi16_epi32(_mm_loadu_si128((const __m128i *)p));
}
CK_TARGET_AVX2 static inline void store16(int16_t *p, __m256i x) {
    __m256i packed = _mm256_packs_epi32(x, x); /* lanes 0-3 and 4-7 in each half */
    _mm_storeu_si128((__m128i *)p, _mm256_castsi256_si128(_mm256_permute4x64_epi64(packed, 0x08)));
}

enum { block_elements = 512 };

/* Pass A: updates[j] = narrow(sums[j] * factor) for j < count (codes of the updates format, as Int16). */
CK_TARGET_AVX2 static inline __attribute__((always_inline)) void updates_block(
    const int64_t *sums, long count, int mode, int64_t factor, int shift, int32_t min_code, int32_t max_code,
    int16_t *updates, long *saturations, long *rounded_to_zero, __m256i *largest_sum) {
    /* Counts and the largest in locals (registers), added to the caller's at the end. */
    long saturated_lanes = 0, vanished_lanes = 0;
    __m256i largest = *largest_sum;
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
        saturated_lanes += __builtin_popcount((unsigned)_mm256_movemask_pd(_mm256_castsi256_pd(saturated)));
        vanished_lanes +=
            __builtin_popcount((unsigned)_mm256_movemask_pd(_mm256_castsi256_pd(_mm256_andnot_si256(saturated, vanished))));
        /* Low dwords of code and s into the low 128 bits. */
        __m128i code32 = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(code, low_dwords));
        __m128i s32 = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(s, low_dwords));
        _mm_storel_epi64((__m128i *)(updates + j), _mm_packs_epi32(code32, code32));
        largest = _mm256_max_epu32(largest, _mm256_zextsi128_si256(_mm_abs_epi32(s32)));
    }
    /* The tail (fewer than four), element by element with the same arithmetic. */
    uint32_t tail_largest = 0;
    for (; j < count; j++) {
        int32_t s = (int32_t)sums[j];
        uint32_t magnitude = s < 0 ? 0u - (uint32_t)s : (uint32_t)s;
        tail_largest = magnitude > tail_largest ? magnitude : tail_largest;
        int32_t tail_saturations = 0, tail_rounded_to_zero = 0;
        int32_t u = ck_narrow_product((int64_t)s * factor, shift, min_code, max_code, mode, &tail_saturations,
                                      &tail_rounded_to_zero);
        saturated_lanes += tail_saturations;
        vanished_lanes += tail_rounded_to_zero;
        updates[j] = (int16_t)u;
    }
    *largest_sum = _mm256_max_epu32(largest, _mm256_set1_epi32((int32_t)tail_largest));
    *saturations += saturated_lanes;
    *rounded_to_zero += vanished_lanes;
}

/* Tallies of a layer's narrowings (0-4) and its unmoved weights. */
typedef struct {
    long saturations[5], rounded_to_zero[5], moved_not;
    __m256i largest0, largest_sum, largest2, largest3, largest4; /* 32-bit lanes */
    __m256i largest_velocity16, largest2_16, largest3_16, largest4_16; /* 16-bit lanes (pass B16) */
} momentum_totals;

/*
 * The update products s * factor of pass A in 32-bit lanes (sums inside
 * Int32), in one of two forms:
 *  - small: |s| * |factor| <= INT32_MAX, the product itself, narrowed by n1;
 *  - split: 0 < |factor| <= 2^15 and an update shift r of 16 to 31 (int16
 *    plans, whose products pass Int32, and other plans' wide sums). With s = hi * 2^16 + lo (lo unsigned),
 *    B = lo * factor and C = hi * factor + (B >> 16) (|hi * factor| <= 2^30,
 *    |B| < 2^31), the product is P = C * 2^16 + D with D = B & 0xFFFF. So
 *    floor(P / 2^r) = C >> (r - 16), the remainder P mod 2^r is
 *    (C mod 2^(r - 16)) * 2^16 + D < 2^31, P >= 0 exactly when C >= 0 and
 *    P = 0 exactly when s = 0: the shift and rounding of narrow32 on P
 *    without forming it.
 */
typedef struct {
    narrowing32 n1;
    __m256i factor;
    __m128i right_high; /* r - 16 (split) */
    __m256i mask_high;  /* 2^(r - 16) - 1 (split) */
} update_products;

static int split_products_fit(int shift, int64_t factor) {
    return factor != 0 && ck_magnitude64(factor) <= ((uint64_t)1 << 15) && shift >= 16 && shift <= 31;
}

CK_TARGET_AVX2 static inline update_products update_products_make(int split, const ck_narrowing_spec *spec, int64_t factor) {
    update_products p;
    p.n1 = narrowing32_make(spec->shift, spec->min_code, spec->max_code);
    p.factor = _mm256_set1_epi32((int32_t)factor);
    int high = split ? spec->shift - 16 : 0;
    p.right_high = _mm_cvtsi32_si128(high);
    p.mask_high = _mm256_set1_epi32(ck_mask32(high));
    return p;
}

/* The split form's floor(P / 2^r), rounded by `mode` as shift_round8 rounds P. */
CK_TARGET_AVX2 static inline __attribute__((always_inline)) __m256i split_shift_round8(const update_products *p, int mode,
                                                                                        __m256i s) {
    const __m256i low16 = _mm256_set1_epi32(0xFFFF);
    __m256i b = _mm256_mullo_epi32(_mm256_and_si256(s, low16), p->factor);
    __m256i c = _mm256_add_epi32(_mm256_mullo_epi32(_mm256_srai_epi32(s, 16), p->factor), _mm256_srai_epi32(b, 16));
    __m256i floor = _mm256_sra_epi32(c, p->right_high);
    if (mode != CK_ROUND_NEAREST_EVEN && mode != CK_ROUND_NEAREST_AWAY) return floor;
    __m256i tie_bit = mode == CK_ROUND_NEAREST_EVEN ? _mm256_and_si256(floor, _mm256_set1_epi32(1))
                                                    : _mm256_srli_epi32(_mm256_cmpgt_epi32(c, _mm256_set1_epi32(-1)), 31);
    __m256i remainder = _mm256_or_si256(_mm256_slli_epi32(_mm256_and_si256(c, p->mask_high), 16), _mm256_and_si256(b, low16));
    /* -1 where rounding up */
    return _mm256_sub_epi32(floor, _mm256_cmpgt_epi32(remainder, _mm256_sub_epi32(p->n1.half, tie_bit)));
}

/* Pass A on eight sums: u = narrow(s * factor), then (n2 not NULL) u' = narrow(u) in the velocity format; stored. */
CK_TARGET_AVX2 static inline __attribute__((always_inline)) void updates32_vector(
    const int64_t *sums, int mode, int split, const update_products *p, const narrowing32 *n2, int16_t *target,
    lane_counts8 *counted1, lane_counts8 *counted2, __m256i *largest_sum, __m256i *largest2) {
    __m256i s = load_sums8(sums).low; /* each inside Int32 */
    *largest_sum = _mm256_max_epu32(*largest_sum, magnitude32(s));
    /* The largest |s * factor| is max |s| * |factor|: the lane maximum is not needed.
       A split product is zero exactly when s is (its factor is not 0). */
    __m256i product = split ? s : _mm256_mullo_epi32(s, p->factor);
    __m256i shifted = split ? split_shift_round8(p, mode, s) : shift_round8(&p->n1, mode, CK_SHIFT_RIGHT, product);
    __m256i u = clamp8(&p->n1, CK_SHIFT_RIGHT, shifted, product, counted1);
    if (n2) u = narrow8(n2, mode, CK_SHIFT_ANY, u, counted2, largest2);
    _mm_storeu_si128((__m128i *)target, codes16_of_sums8(u));
}

/*
 * Pass A in 32-bit lanes, eight per vector (see update_products): the update
 * codes u into `target`, or (n2 not NULL) their moves u' to the velocity
 * format (narrowing 2). `target` must hold the block rounded up to eight; the
 * padding is zero (zero sums give zero codes, counted as kept).
 */
CK_TARGET_AVX2 static inline __attribute__((always_inline)) void updates32_block(
    const int64_t *sums, long count, int mode, int split, const update_products *p, const narrowing32 *n2, int16_t *target,
    momentum_totals *t) {
    const __m256i zero = _mm256_setzero_si256();
    lane_counts8 counted1 = {zero, zero}, counted2 = {zero, zero};
    __m256i largest_sum = t->largest_sum, largest2 = t->largest2;
    const long full = count / 8 * 8;
    for (long j = 0; j < full; j += 8) {
        updates32_vector(sums + j, mode, split, p, n2, target + j, &counted1, &counted2, &largest_sum, &largest2);
    }
    if (full < count) {
        int64_t lanes[8] = {0};
        memcpy(lanes, sums + full, (size_t)(count - full) * sizeof(int64_t));
        updates32_vector(lanes, mode, split, p, n2, target + full, &counted1, &counted2, &largest_sum, &largest2);
    }
    const long vectors = (count + 7) / 8;
    lane_counts8_add(&counted1, vectors, &t->saturations[1], &t->rounded_to_zero[1]);
    if (n2) lane_counts8_add(&counted2, vectors, &t->saturations[2], &t->rounded_to_zero[2]);
    t->largest_sum = largest_sum;
    t->largest2 = largest2;
}

/* Pass A2: u' = narrow(u) to the velocity format for the block rounded up to eight, as Int16. */
CK_TARGET_AVX2 static inline __attribute__((always_inline)) void move_updates_block(
    const int16_t *updates, long count, int mode, const narrowing32 *n2, int16_t *moved, long *saturations,
    long *rounded_to_zero, __m256i *largest) {
    lane_counts8 counted = {_mm256_setzero_si256(), _mm256_setzero_si256()};
    __m256i largest_local = *largest;
    for (long j = 0; j < count; j += 8) {
        __m256i u = narrow8(n2, mode, CK_SHIFT_ANY, load16(updates + j), &counted, &largest_local);
        store16(moved + j, u);
    }
    *largest = largest_local;
    lane_counts8_add(&counted, (count + 7) / 8, saturations, rounded_to_zero);
}

/* Eight-lane pass B: narrowings 0, 3 and 4 for one block (any codes the gate admits). */
typedef struct {
    narrowing32 n0, n3, n4;
    __m256i momentum;
    __m128i weight_align, velocity_align;
} pass_b32;

/* The lane counts and largest magnitudes of pass B32 over one block (locals, so that they stay in registers). */
typedef struct {
    lane_counts8 counted0, counted3, counted4;
    __m256i unmoved, largest0, largest3, largest4;
} b32_tallies;

/* Pass B32 on eight elements in place (`moved` holds their u'). */
CK_TARGET_AVX2 static inline __attribute__((always_inline)) void b32_vector(const pass_b32 *b, int mode, int with_updates,
                                                                             int16_t *weights, int16_t *velocity,
                                                                             const int16_t *moved, b32_tallies *c) {
    const __m256i zero = _mm256_setzero_si256();
    __m256i v = narrow8(&b->n0, mode, CK_SHIFT_RIGHT, _mm256_mullo_epi32(load16(velocity), b->momentum), &c->counted0,
                        &c->largest0);
    if (with_updates) {
        v = narrow8(&b->n3, CK_ROUND_TRUNCATE, CK_SHIFT_NONE, _mm256_add_epi32(v, load16(moved)), &c->counted3, &c->largest3);
    }
    __m256i old = load16(weights);
    __m256i difference = _mm256_sub_epi32(_mm256_sll_epi32(old, b->weight_align), _mm256_sll_epi32(v, b->velocity_align));
    __m256i w = narrow8(&b->n4, mode, CK_SHIFT_RIGHT, difference, &c->counted4, &c->largest4);
    c->unmoved = _mm256_sub_epi32(c->unmoved, _mm256_andnot_si256(_mm256_cmpeq_epi32(v, zero), _mm256_cmpeq_epi32(w, old)));
    store16(velocity, v);
    store16(weights, w);
}

/*
 * Eight-lane pass B over one block: whole vectors in place, a ragged end
 * through zero-padded copies (`moved` is zero-padded to whole vectors).
 * Padding lanes are zeros: every narrowing maps 0 to 0 and keeps it (a format
 * holds 0), none is rounded to zero, and 0 is no larger magnitude.
 */
CK_TARGET_AVX2 static inline __attribute__((always_inline)) void velocity_and_weights_b32(
    const pass_b32 *b, int mode, int with_updates, int16_t *weights, int16_t *velocity, const int16_t *moved, long count,
    momentum_totals *t) {
    const __m256i zero = _mm256_setzero_si256();
    b32_tallies c = {{zero, zero}, {zero, zero}, {zero, zero}, zero, t->largest0, t->largest3, t->largest4};
    const long full = count / 8 * 8;
    for (long j = 0; j < full; j += 8) b32_vector(b, mode, with_updates, weights + j, velocity + j, moved + j, &c);
    if (full < count) {
        const long lanes = count - full;
        int16_t weight_lanes[8] = {0}, velocity_lanes[8] = {0};
        memcpy(weight_lanes, weights + full, (size_t)lanes * sizeof(int16_t));
        memcpy(velocity_lanes, velocity + full, (size_t)lanes * sizeof(int16_t));
        b32_vector(b, mode, with_updates, weight_lanes, velocity_lanes, moved + full, &c);
        memcpy(velocity + full, velocity_lanes, (size_t)lanes * sizeof(int16_t));
        memcpy(weights + full, weight_lanes, (size_t)lanes * sizeof(int16_t));
    }
    const long vectors = (count + 7) / 8;
    lane_counts8_add(&c.counted0, vectors, &t->saturations[0], &t->rounded_to_zero[0]);
    if (with_updates) lane_counts8_add(&c.counted3, vectors, &t->saturations[3], &t->rounded_to_zero[3]);
    lane_counts8_add(&c.counted4, vectors, &t->saturations[4], &t->rounded_to_zero[4]);
    t->moved_not += ck_horizontal_sum_epi32(c.unmoved);
    t->largest0 = c.largest0;
    t->largest3 = c.largest3;
    t->largest4 = c.largest4;
}

/*
 * Sixteen-lane pass B, for layers whose values fit in Int16 (pass_b16_fits) and
 * blocks whose weight codes lie in the weight format:
 *  0. m * v / 2^r from vpmullw / vpmulhw: with P = v * m = hi * 2^16 + lo
 *     (lo unsigned), floor(P / 2^r) = (hi << (16 - r)) | (lo >> r) and the
 *     remainder is lo & (2^r - 1), for 1 <= r <= 15 and 0 <= m < 2^r (so
 *     |P / 2^r| < 2^15 and rounding up stays inside Int16); the largest |P| is
 *     max |v| * m;
 *  3. v + u' (the formats' sums inside Int16);
 *  4. (w << wa) - (v << va), inside Int16 by the gate, shifted right by r4 <= 15.
 */
typedef struct {
    __m256i momentum, mask0, half0, min0, max0, mask2, half2, min2, max2, min3, max3, mask4, half4, min4, max4;
    __m128i right0, left0, right2, right4, weight_align, velocity_align;
    /* Narrowing 1 when the updates are computed in the same loop (updates16). */
    narrowing32 n1;
    __m256i factor, min1, max1;
} pass_b16;

/*
 * Per-block lane counters of pass B16 (at most 32 vectors a block, so Int16
 * lanes cannot overflow): lanes kept (not saturated) and lanes rounded to zero
 * per narrowing, and unmoved weights; added into the totals after each block.
 */
typedef struct {
    __m256i kept[5], vanished[5], unmoved;
} lane_counts16;

CK_TARGET_AVX2 static inline long sum16(__m256i lanes) {
    __m256i pairs = _mm256_madd_epi16(lanes, _mm256_set1_epi16(1));
    __m128i sums = _mm_add_epi32(_mm256_castsi256_si128(pairs), _mm256_extracti128_si256(pairs, 1));
    sums = _mm_add_epi32(sums, _mm_shuffle_epi32(sums, 0x4E));
    sums = _mm_add_epi32(sums, _mm_shuffle_epi32(sums, 0xB1));
    return _mm_cvtsi128_si32(sums);
}

/*
 * floor rounded by `mode`: up (floor + 1) when the remainder is above half,
 * or at half with an odd floor (nearest even) or a nonnegative value (nearest
 * away); both are "remainder > half - tie bit", and half - 1 does not wrap.
 */
CK_TARGET_AVX2 static inline __attribute__((always_inline)) __m256i round16(int mode, __m256i floor, __m256i remainder,
                                                                             __m256i half, __m256i nonnegative) {
    if (mode == CK_ROUND_TRUNCATE) return floor;
    __m256i tie_bit = mode == CK_ROUND_NEAREST_EVEN ? _mm256_and_si256(floor, _mm256_set1_epi16(1)) : _mm256_srli_epi16(nonnegative, 15);
    return _mm256_sub_epi16(floor, _mm256_cmpgt_epi16(remainder, _mm256_sub_epi16(half, tie_bit))); /* -1 where rounding up */
}

/*
 * Clamps and counts kept lanes; returns the code. Lanes rounded to zero (a
 * nonzero input, kept, giving code 0) are counted as zero shifted values
 * minus zero inputs (`input_zero`): a zero input always shifts to zero, and a
 * zero shifted value is always kept as code 0 (every format holds 0).
 */
CK_TARGET_AVX2 static inline __attribute__((always_inline)) __m256i clamp16(__m256i shifted, __m256i low, __m256i high,
                                                                             __m256i input_zero, __m256i *kept_lanes,
                                                                             __m256i *vanished_lanes) {
    __m256i code = _mm256_min_epi16(_mm256_max_epi16(shifted, low), high);
    *kept_lanes = _mm256_sub_epi16(*kept_lanes, _mm256_cmpeq_epi16(code, shifted));
    *vanished_lanes = _mm256_add_epi16(_mm256_sub_epi16(*vanished_lanes, _mm256_cmpeq_epi16(shifted, _mm256_setzero_si256())),
                                       input_zero);
    return code;
}

/*
 * Narrowing 1 of sixteen update sums, for layers whose sums and products fit
 * in Int32 (small products), a nonzero factor and an updates format strictly
 * inside Int16: u = narrow(s * factor) in element order, counted in the 16-bit
 * lanes of `counted`, the largest |s| kept in 32-bit lanes. The shifted
 * products are packed into 16-bit lanes with saturation: a value beyond Int16
 * is also beyond the format, so it clamps and counts as it would in 32 bits;
 * a product is zero exactly when its sum is (packing keeps that too).
 */
CK_TARGET_AVX2 static inline __attribute__((always_inline)) __m256i updates16(const pass_b16 *b, int mode, const int64_t *sums,
                                                                               lane_counts16 *counted, momentum_totals *t) {
    /* The low dwords of the sums: x holds elements 0 1 4 5 | 2 3 6 7, y 8 9 12 13 | 10 11 14 15. */
    __m256i x = load_sums8(sums).low, y = load_sums8(sums + 8).low;
    t->largest_sum = _mm256_max_epu32(t->largest_sum, _mm256_max_epu32(magnitude32(x), magnitude32(y)));
    __m256i shifted_x = shift_round8(&b->n1, mode, CK_SHIFT_RIGHT, _mm256_mullo_epi32(x, b->factor));
    __m256i shifted_y = shift_round8(&b->n1, mode, CK_SHIFT_RIGHT, _mm256_mullo_epi32(y, b->factor));
    /* 16-bit lanes in the order 0 1 4 5 8 9 12 13 | 2 3 6 7 10 11 14 15. */
    __m256i shifted = _mm256_packs_epi32(shifted_x, shifted_y);
    __m256i sum_zero = _mm256_cmpeq_epi16(_mm256_packs_epi32(x, y), _mm256_setzero_si256());
    __m256i u = clamp16(shifted, b->min1, b->max1, sum_zero, &counted->kept[1], &counted->vanished[1]);
    return _mm256_permutevar8x32_epi32(u, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

/* Narrowing 2 of sixteen update codes (a right shift of at most 15): u' in the velocity format. */
CK_TARGET_AVX2 static inline __attribute__((always_inline)) __m256i move16(const pass_b16 *b, int mode, __m256i u,
                                                                            lane_counts16 *counted, momentum_totals *t) {
    t->largest2_16 = _mm256_max_epu16(t->largest2_16, _mm256_abs_epi16(u));
    __m256i shifted = round16(mode, _mm256_sra_epi16(u, b->right2), _mm256_and_si256(u, b->mask2), b->half2,
                              _mm256_cmpgt_epi16(u, _mm256_set1_epi16(-1)));
    return clamp16(shifted, b->min2, b->max2, _mm256_cmpeq_epi16(u, _mm256_setzero_si256()), &counted->kept[2],
                   &counted->vanished[2]);
}

/* Narrowings 0 and 3 of sixteen elements of pass B16 (see velocity_and_weights_b16): the new velocity, in place. */
CK_TARGET_AVX2 static inline __attribute__((always_inline)) void b16_velocity(
    const pass_b16 *b, int mode, int with_updates, int move, __m256i momentum_zero, int16_t *velocity,
    const int16_t *updates, const int16_t *moved, lane_counts16 *counted, momentum_totals *t) {
    const __m256i zero = _mm256_setzero_si256(), ones = _mm256_set1_epi16(-1);
    __m256i old_velocity = _mm256_loadu_si256((const __m256i *)velocity);
    t->largest_velocity16 = _mm256_max_epu16(t->largest_velocity16, _mm256_abs_epi16(old_velocity));
    __m256i high = _mm256_mulhi_epi16(old_velocity, b->momentum), low = _mm256_mullo_epi16(old_velocity, b->momentum);
    __m256i floor = _mm256_or_si256(_mm256_sll_epi16(high, b->left0), _mm256_srl_epi16(low, b->right0));
    __m256i shifted = round16(mode, floor, _mm256_and_si256(low, b->mask0), b->half0, _mm256_cmpgt_epi16(high, ones));
    __m256i product_zero = _mm256_or_si256(_mm256_cmpeq_epi16(old_velocity, zero), momentum_zero);
    __m256i v = clamp16(shifted, b->min0, b->max0, product_zero, &counted->kept[0], &counted->vanished[0]);
    if (with_updates) {
        __m256i u_velocity;
        if (move) {
            u_velocity = move16(b, mode, _mm256_loadu_si256((const __m256i *)updates), counted, t);
        } else {
            u_velocity = _mm256_loadu_si256((const __m256i *)moved);
        }
        __m256i sum = _mm256_add_epi16(v, u_velocity);
        t->largest3_16 = _mm256_max_epu16(t->largest3_16, _mm256_abs_epi16(sum));
        /* No shift: a kept lane is its own code, so none is rounded to zero. */
        v = _mm256_min_epi16(_mm256_max_epi16(sum, b->min3), b->max3);
        counted->kept[3] = _mm256_sub_epi16(counted->kept[3], _mm256_cmpeq_epi16(v, sum));
    }
    _mm256_storeu_si256((__m256i *)velocity, v);
}

/* Narrowing 4 of sixteen elements of pass B16 from their new velocity: the new weights, in place. */
CK_TARGET_AVX2 static inline __attribute__((always_inline)) void b16_weights(const pass_b16 *b, int mode, int16_t *weights,
                                                                              const int16_t *velocity, lane_counts16 *counted,
                                                                              momentum_totals *t) {
    const __m256i zero = _mm256_setzero_si256(), ones = _mm256_set1_epi16(-1);
    __m256i v = _mm256_loadu_si256((const __m256i *)velocity);
    __m256i old = _mm256_loadu_si256((const __m256i *)weights);
    __m256i difference = _mm256_sub_epi16(_mm256_sll_epi16(old, b->weight_align), _mm256_sll_epi16(v, b->velocity_align));
    t->largest4_16 = _mm256_max_epu16(t->largest4_16, _mm256_abs_epi16(difference));
    __m256i moved_shifted = round16(mode, _mm256_sra_epi16(difference, b->right4), _mm256_and_si256(difference, b->mask4),
                                    b->half4, _mm256_cmpgt_epi16(difference, ones));
    __m256i w = clamp16(moved_shifted, b->min4, b->max4, _mm256_cmpeq_epi16(difference, zero), &counted->kept[4],
                        &counted->vanished[4]);
    counted->unmoved = _mm256_sub_epi16(counted->unmoved, _mm256_andnot_si256(_mm256_cmpeq_epi16(v, zero), _mm256_cmpeq_epi16(w, old)));
    _mm256_storeu_si256((__m256i *)weights, w);
}

/* Where one block of pass B16 takes its updates from. */
enum { b16_no_updates, b16_moved, b16_codes, b16_sums };

/*
 * One block of pass B16, its updates from `source`: b16_moved, `moved` holds
 * them in the velocity format already; b16_codes, the update codes (`updates`,
 * updates format) are moved to the velocity format here by a right shift of at
 * most 15 (narrowing 2 in 16-bit lanes); b16_sums, the update sums `sums` are
 * narrowed to u (updates16) and moved to u' into `moved` first. The new velocities
 * (b16_velocity) and then the new weights (b16_weights) are loops of their own
 * too: short dependency chains in each loop let the processor overlap more
 * vectors (on a C driver, one layer of 802,816 weights took about 15 % less).
 * Whole vectors in place; a ragged end through zero-padded copies (`updates`
 * and `moved` are zero-padded to whole vectors), whose lanes count as kept.
 */
CK_TARGET_AVX2 static inline __attribute__((always_inline)) void velocity_and_weights_b16(
    const pass_b16 *b, int mode, int source, int16_t *weights, int16_t *velocity, const int64_t *sums,
    const int16_t *updates, int16_t *moved, long count, momentum_totals *t) {
    /* Every product m * v is zero for a zero momentum. */
    const __m256i momentum_zero = _mm256_cmpeq_epi16(b->momentum, _mm256_setzero_si256());
    lane_counts16 counted;
    memset(&counted, 0, sizeof counted);
    const long full = count / 16 * 16;
    const int with_updates = source != b16_no_updates, move = source == b16_codes;
    if (source == b16_sums) {
        for (long j = 0; j < full; j += 16) {
            _mm256_storeu_si256((__m256i *)(moved + j), move16(b, mode, updates16(b, mode, sums + j, &counted, t), &counted, t));
        }
        if (full < count) {
            int64_t sum_lanes[16] = {0};
            memcpy(sum_lanes, sums + full, (size_t)(count - full) * sizeof(int64_t));
            _mm256_storeu_si256((__m256i *)(moved + full), move16(b, mode, updates16(b, mode, sum_lanes, &counted, t), &counted, t));
        }
    }
    for (long j = 0; j < full; j += 16) {
        b16_velocity(b, mode, with_updates, move, momentum_zero, velocity + j, updates + j, moved + j, &counted, t);
    }
    for (long j = 0; j < full; j += 16) b16_weights(b, mode, weights + j, velocity + j, &counted, t);
    const long vectors = (count + 15) / 16;
    if (full < count) {
        const long lanes = count - full;
        int16_t weight_lanes[16] = {0}, velocity_lanes[16] = {0};
        memcpy(weight_lanes, weights + full, (size_t)lanes * sizeof(int16_t));
        memcpy(velocity_lanes, velocity + full, (size_t)lanes * sizeof(int16_t));
        b16_velocity(b, mode, with_updates, move, momentum_zero, velocity_lanes, updates + full, moved + full, &counted, t);
        b16_weights(b, mode, weight_lanes, velocity_lanes, &counted, t);
        memcpy(velocity + full, velocity_lanes, (size_t)lanes * sizeof(int16_t));
        memcpy(weights + full, weight_lanes, (size_t)lanes * sizeof(int16_t));
    }
    for (int n = 0; n < 5; n++) {
        if ((n == 1 && source != b16_sums) || (n == 2 && source != b16_codes && source != b16_sums) || (n == 3 && !with_updates))
            continue;
        t->saturations[n] += 16 * vectors - sum16(counted.kept[n]);
        t->rounded_to_zero[n] += sum16(counted.vanished[n]);
    }
    t->moved_not += sum16(counted.unmoved);
}

/* Whether pass B fits in 16-bit lanes (see velocity_and_weights_b16), given weights inside their format. */
static int pass_b16_fits(const ck_momentum_layer *layer, int with_updates) {
    const ck_narrowing_spec *n = layer->narrowings;
    int64_t momentum = layer->momentum_mantissa;
    if (n[0].shift < 1 || n[0].shift > 15 || momentum < 0 || momentum >= ((int64_t)1 << n[0].shift)) return 0;
    if (n[4].shift > 15) return 0;
    int32_t velocity = (int32_t)ck_range_magnitude(n[0].min_code, n[0].max_code);
    if (with_updates) {
        /* v + u' inside Int16 for every v of format 0 and u' of format 2. */
        if ((int64_t)n[0].max_code + n[2].max_code > INT16_MAX || (int64_t)n[0].min_code + n[2].min_code < INT16_MIN) return 0;
        velocity = (int32_t)ck_range_magnitude(n[3].min_code, n[3].max_code);
    }
    int64_t weight = ck_range_magnitude(n[4].min_code, n[4].max_code);
    return (weight << layer->weight_align) + ((int64_t)velocity << layer->velocity_align) <= INT16_MAX;
}

/* Whether every weight code of the block lies in [low, high]. */
CK_TARGET_AVX2 static int weights_in_format(const int16_t *weights, long count, int16_t low, int16_t high) {
    __m256i lows = _mm256_set1_epi16(low), highs = _mm256_set1_epi16(high), outside = _mm256_setzero_si256();
    long j = 0;
    for (; j + 16 <= count; j += 16) {
        __m256i w = _mm256_loadu_si256((const __m256i *)(weights + j));
        outside = _mm256_or_si256(outside, _mm256_or_si256(_mm256_cmpgt_epi16(lows, w), _mm256_cmpgt_epi16(w, highs)));
    }
    int inside = _mm256_testz_si256(outside, outside);
    for (; j < count; j++) inside &= weights[j] >= low && weights[j] <= high;
    return inside;
}

CK_TARGET_AVX2 static uint32_t horizontal_max16(__m256i x) {
    __m256i widened = _mm256_max_epu32(_mm256_srli_epi32(x, 16), _mm256_and_si256(x, _mm256_set1_epi32(0xFFFF)));
    return ck_horizontal_max_epu32(widened);
}

CK_TARGET_AVX2 static inline __attribute__((always_inline)) void momentum32_x86(const ck_momentum_layer *layer, int mode,
                                                                                int with_updates, ck_narrowing_counts counts[5],
                                                                                long *unmoved) {
    const ck_narrowing_spec *spec = layer->narrowings;
    const __m256i zero = _mm256_setzero_si256();
    pass_b32 b32;
    b32.n0 = narrowing32_make(spec[0].shift, spec[0].min_code, spec[0].max_code);
    b32.n3 = narrowing32_make(0, spec[3].min_code, spec[3].max_code);
    b32.n4 = narrowing32_make(spec[4].shift, spec[4].min_code, spec[4].max_code);
    b32.momentum = _mm256_set1_epi32((int32_t)layer->momentum_mantissa);
    b32.weight_align = _mm_cvtsi32_si128(layer->weight_align);
    b32.velocity_align = _mm_cvtsi32_si128(layer->velocity_align);
    const int b16 = pass_b16_fits(layer, with_updates);
    /* Narrowing 2 inside pass B16 when it is a right shift of at most 15. */
    const int move16 = b16 && with_updates && spec[2].shift >= 0 && spec[2].shift <= 15;
    pass_b16 p16;
    if (b16) {
        int r2 = move16 ? spec[2].shift : 0;
        p16.mask2 = _mm256_set1_epi16((int16_t)((1 << r2) - 1));
        p16.half2 = _mm256_set1_epi16(r2 > 0 ? (int16_t)(1 << (r2 - 1)) : INT16_MAX);
        p16.right2 = _mm_cvtsi32_si128(r2);
        p16.min2 = _mm256_set1_epi16((int16_t)spec[2].min_code);
        p16.max2 = _mm256_set1_epi16((int16_t)spec[2].max_code);
        int r0 = spec[0].shift, r4 = spec[4].shift;
        p16.momentum = _mm256_set1_epi16((int16_t)layer->momentum_mantissa);
        p16.mask0 = _mm256_set1_epi16((int16_t)((1 << r0) - 1));
        p16.half0 = _mm256_set1_epi16((int16_t)(1 << (r0 - 1)));
        p16.right0 = _mm_cvtsi32_si128(r0);
        p16.left0 = _mm_cvtsi32_si128(16 - r0);
        p16.min0 = _mm256_set1_epi16((int16_t)spec[0].min_code);
        p16.max0 = _mm256_set1_epi16((int16_t)spec[0].max_code);
        p16.min3 = _mm256_set1_epi16((int16_t)spec[3].min_code);
        p16.max3 = _mm256_set1_epi16((int16_t)spec[3].max_code);
        p16.mask4 = _mm256_set1_epi16((int16_t)((1 << r4) - 1));
        p16.half4 = _mm256_set1_epi16(r4 > 0 ? (int16_t)(1 << (r4 - 1)) : INT16_MAX);
        p16.right4 = _mm_cvtsi32_si128(r4);
        p16.min4 = _mm256_set1_epi16((int16_t)spec[4].min_code);
        p16.max4 = _mm256_set1_epi16((int16_t)spec[4].max_code);
        p16.weight_align = _mm_cvtsi32_si128(layer->weight_align);
        p16.velocity_align = _mm_cvtsi32_si128(layer->velocity_align);
    }
    const narrowing32 n2 = narrowing32_make(spec[2].shift, spec[2].min_code, spec[2].max_code);
    const uint64_t factor = ck_magnitude64(layer->factor_mantissa);
    const int small_products = spec[1].shift <= 31 && (factor == 0 || layer->update_sums_bound <= (uint64_t)INT32_MAX / factor);
    /* Pass A in 32-bit lanes for small or split products, else in 64-bit lanes (updates_block). */
    const int split_products = !small_products && split_products_fit(spec[1].shift, layer->factor_mantissa);
    const update_products products = update_products_make(split_products, &spec[1], layer->factor_mantissa);
    /* The updates computed inside pass B16 (updates16), where its conditions hold. */
    const int fused = move16 && small_products && factor != 0 && spec[1].min_code > INT16_MIN && spec[1].max_code < INT16_MAX;
    if (fused) {
        p16.n1 = products.n1;
        p16.factor = products.factor;
        p16.min1 = _mm256_set1_epi16((int16_t)spec[1].min_code);
        p16.max1 = _mm256_set1_epi16((int16_t)spec[1].max_code);
    }
    momentum_totals t;
    memset(&t, 0, sizeof t);
    t.largest0 = t.largest_sum = t.largest2 = t.largest3 = t.largest4 = zero;
    t.largest_velocity16 = t.largest2_16 = t.largest3_16 = t.largest4_16 = zero;
    int16_t *weights = layer->weights, *velocity = layer->velocity;
    int16_t updates[block_elements];
    int16_t moved[block_elements];
    /* A bound of 0 says every update sum is 0 (PEPITA's int8 first layer, when
       no hidden code differs between its two passes): then every u and u' is 0,
       narrowings 1 and 2 count nothing and keep no largest, and the sums are
       not read; narrowing 3 (v + 0) runs as usual on zero moved updates. */
    const int zero_updates = with_updates && layer->update_sums_bound == 0;
    if (zero_updates) memset(moved, 0, sizeof moved);
    const long count = layer->count;
    for (long start = 0; start < count; start += block_elements) {
        const long block = ck_min(count - start, block_elements);
        const int b16_block = b16 && weights_in_format(weights + start, block, (int16_t)spec[4].min_code, (int16_t)spec[4].max_code);
        if (zero_updates) {
            if (b16_block) {
                velocity_and_weights_b16(&p16, mode, b16_moved, weights + start, velocity + start, NULL, updates, moved, block, &t);
            } else {
                velocity_and_weights_b32(&b32, mode, 1, weights + start, velocity + start, moved, block, &t);
            }
            continue;
        }
        if (b16_block && fused) {
            velocity_and_weights_b16(&p16, mode, b16_sums, weights + start, velocity + start, layer->update_sums + start,
                                     updates, moved, block, &t);
            continue;
        }
        /* Pass B16 moves the update codes to the velocity format itself (narrowing 2 in 16-bit lanes). */
        const int codes_to_b16 = b16_block && move16;
        if (with_updates) {
            /* u' (or u for pass B16) padded with zeros to whole 16-lane vectors (zeros count nothing). */
            int16_t *target = codes_to_b16 ? updates : moved;
            const long padded = (block + 15) / 16 * 16;
            /* Each form a loop of its own: constant arguments of the inlined blocks. */
            if (split_products && codes_to_b16) {
                updates32_block(layer->update_sums + start, block, mode, 1, &products, NULL, target, &t);
            } else if (split_products) {
                updates32_block(layer->update_sums + start, block, mode, 1, &products, &n2, target, &t);
            } else if (small_products && codes_to_b16) {
                updates32_block(layer->update_sums + start, block, mode, 0, &products, NULL, target, &t);
            } else if (small_products) {
                updates32_block(layer->update_sums + start, block, mode, 0, &products, &n2, target, &t);
            } else {
                updates_block(layer->update_sums + start, block, mode, layer->factor_mantissa, spec[1].shift, spec[1].min_code,
                              spec[1].max_code, updates, &t.saturations[1], &t.rounded_to_zero[1], &t.largest_sum);
                for (long j = block; j < padded; j++) updates[j] = 0;
                if (!codes_to_b16) {
                    move_updates_block(updates, padded, mode, &n2, moved, &t.saturations[2], &t.rounded_to_zero[2], &t.largest2);
                }
            }
            for (long j = block; j < padded; j++) target[j] = 0;
        }
        if (codes_to_b16) {
            velocity_and_weights_b16(&p16, mode, with_updates ? b16_codes : b16_no_updates, weights + start, velocity + start, NULL,
                                     updates, moved, block, &t);
            continue;
        }
        if (b16_block) {
            velocity_and_weights_b16(&p16, mode, with_updates ? b16_moved : b16_no_updates, weights + start, velocity + start, NULL,
                                     updates, moved, block, &t);
        } else {
            velocity_and_weights_b32(&b32, mode, with_updates, weights + start, velocity + start, moved, block, &t);
        }
    }
    /* Largest magnitudes: 32-bit lanes and 16-bit lanes together; narrowing 0's
       from pass B16 is max |v| * momentum (momentum >= 0 there). */
    uint64_t largest0 = ck_horizontal_max_epu32(t.largest0);
    uint64_t from16 = (uint64_t)horizontal_max16(t.largest_velocity16) * (uint64_t)(b16 ? layer->momentum_mantissa : 0);
    largest0 = from16 > largest0 ? from16 : largest0;
    uint64_t largest3 = ck_horizontal_max_epu32(t.largest3), largest3_16 = horizontal_max16(t.largest3_16);
    uint64_t largest4 = ck_horizontal_max_epu32(t.largest4), largest4_16 = horizontal_max16(t.largest4_16);
    ck_narrowing_tally t0 = {t.saturations[0], t.rounded_to_zero[0], largest0};
    ck_narrowing_counts_add(&counts[0], t0);
    if (with_updates) {
        ck_narrowing_tally t1 = {t.saturations[1], t.rounded_to_zero[1], (uint64_t)ck_horizontal_max_epu32(t.largest_sum) * factor};
        uint64_t largest2 = ck_horizontal_max_epu32(t.largest2), largest2_16 = horizontal_max16(t.largest2_16);
        ck_narrowing_tally t2 = {t.saturations[2], t.rounded_to_zero[2], largest2_16 > largest2 ? largest2_16 : largest2};
        ck_narrowing_tally t3 = {t.saturations[3], t.rounded_to_zero[3], largest3_16 > largest3 ? largest3_16 : largest3};
        ck_narrowing_counts_add(&counts[1], t1);
        ck_narrowing_counts_add(&counts[2], t2);
        ck_narrowing_counts_add(&counts[3], t3);
    }
    ck_narrowing_tally t4 = {t.saturations[4], t.rounded_to_zero[4], largest4_16 > largest4 ? largest4_16 : largest4};
    ck_narrowing_counts_add(&counts[4], t4);
    *unmoved += t.moved_not;
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
