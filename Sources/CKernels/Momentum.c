/*
 * The fixed-point momentum step of one layer in one pass (ck_momentum_update in
 * CKernels.h; FixedPointMomentum has the contract). Each element goes through
 * the same five narrowings, in the same order and with the same random bits, as
 * the tensor-at-a-time formulation, so codes and counts are identical; only the
 * passes over memory are fused.
 */
#include "Internal.h"

static inline __attribute__((always_inline)) void momentum_loop(const ck_momentum_layer *layer, int mode_state, int mode_updates,
                                                                 int mode_weights, int with_updates, int store_codes, int shaped,
                                                                 ck_narrowing_counts counts[5], long *unmoved) {
    /* With `shaped`, the caller has checked momentum_shapes_known. */
    const int right = shaped ? CK_SHIFT_RIGHT : CK_SHIFT_ANY, none = shaped ? CK_SHIFT_NONE : CK_SHIFT_ANY;
    const ck_narrowing scaled_velocity = ck_narrowing_make(layer->narrowings[0].shift, layer->narrowings[0].min_code,
                                                           layer->narrowings[0].max_code, mode_state, layer->narrowings[0].key);
    const ck_narrowing update = ck_narrowing_make(layer->narrowings[1].shift, layer->narrowings[1].min_code,
                                                  layer->narrowings[1].max_code, mode_updates, layer->narrowings[1].key);
    const ck_narrowing update_in_velocity = ck_narrowing_make(layer->narrowings[2].shift, layer->narrowings[2].min_code,
                                                              layer->narrowings[2].max_code, mode_state, layer->narrowings[2].key);
    const ck_narrowing velocity_sum = ck_narrowing_make(layer->narrowings[3].shift, layer->narrowings[3].min_code,
                                                        layer->narrowings[3].max_code, mode_state, layer->narrowings[3].key);
    const ck_narrowing weight = ck_narrowing_make(layer->narrowings[4].shift, layer->narrowings[4].min_code,
                                                  layer->narrowings[4].max_code, mode_weights, layer->narrowings[4].key);
    ck_narrowing_tally t0 = {0, 0, 0}, t1 = {0, 0, 0}, t2 = {0, 0, 0}, t3 = {0, 0, 0}, t4 = {0, 0, 0};
    int16_t *weights = layer->weights, *velocity = layer->velocity, *update_codes = layer->update_codes;
    const int64_t *update_sums = layer->update_sums;
    const int64_t momentum = layer->momentum_mantissa, factor = layer->factor_mantissa;
    const int weight_align = layer->weight_align, velocity_align = layer->velocity_align;
    long moved_not = 0;
    const long count = layer->count;
    const uint64_t first_index = layer->first_index;
    for (long i = 0; i < count; i++) {
        uint64_t index = first_index + (uint64_t)i;
        int64_t v = ck_narrow(scaled_velocity, mode_state, right, (int64_t)velocity[i] * momentum, index, &t0);
        if (with_updates) {
            int64_t u = ck_narrow(update, mode_updates, right, update_sums[i] * factor, index, &t1);
            if (store_codes) update_codes[i] = (int16_t)u;
            int64_t u_velocity = ck_narrow(update_in_velocity, mode_state, CK_SHIFT_ANY, u, index, &t2);
            v = ck_narrow(velocity_sum, mode_state, none, v + u_velocity, index, &t3);
        }
        int64_t old = weights[i];
        int64_t w = ck_narrow(weight, mode_weights, right,
                              (int64_t)((uint64_t)old << weight_align) - (int64_t)((uint64_t)v << velocity_align), index, &t4);
        moved_not += v != 0 && w == old;
        velocity[i] = (int16_t)v;
        weights[i] = (int16_t)w;
    }
    ck_narrowing_counts_add(&counts[0], t0);
    if (with_updates) {
        ck_narrowing_counts_add(&counts[1], t1);
        ck_narrowing_counts_add(&counts[2], t2);
        ck_narrowing_counts_add(&counts[3], t3);
    }
    ck_narrowing_counts_add(&counts[4], t4);
    *unmoved += moved_not;
}

/*
 * The same step in 32-bit lanes, for the layers whose values provably fit
 * (momentum_fits_32_bits): twice the elements per vector of the 64-bit loop and
 * no emulated 64-bit multiplies. Only the update m = s * factor is formed in
 * 64 bits (a 32 x 32 -> 64 multiply), and its right shift uses a bias of 2^62 so
 * that it is a logical shift (AVX2 has no 64-bit arithmetic shift): for
 * |m| < 2^62, floor(m / 2^r) = ((m + 2^62) >> r) - 2^(62 - r).
 * Every narrowing is ck_narrow's arithmetic on the same values, so codes and
 * tallies are those of momentum_loop; the largest |m| is max |s| * |factor|.
 * One rounding mode for every role, no update codes kept.
 */
static inline __attribute__((always_inline)) void momentum_loop32(const ck_momentum_layer *layer, int mode, int with_updates,
                                                                   ck_narrowing_counts counts[5], long *unmoved) {
    const ck_narrowing_spec *n = layer->narrowings;
    /* The gate bounds every shift this loop uses; without updates narrowings
       1 and 2 are unused and their shifts are taken as 0 (no undefined shift). */
    const int r0 = n[0].shift, r1 = with_updates ? n[1].shift : 0, r4 = n[4].shift;
    const int left2 = with_updates && n[2].shift < 0 ? -n[2].shift : 0;
    const int right2 = with_updates && n[2].shift > 0 ? n[2].shift : 0;
    const int32_t mask0 = ck_mask32(r0), half0 = ck_half32(r0), mask2 = ck_mask32(right2), half2 = ck_half32(right2);
    const int32_t mask4 = ck_mask32(r4), half4 = ck_half32(r4);
    const int32_t min0 = n[0].min_code, max0 = n[0].max_code, min1 = n[1].min_code, max1 = n[1].max_code;
    const int32_t min2 = n[2].min_code, max2 = n[2].max_code, min3 = n[3].min_code, max3 = n[3].max_code;
    const int32_t min4 = n[4].min_code, max4 = n[4].max_code;
    const int32_t momentum = (int32_t)layer->momentum_mantissa;
    const int64_t factor = layer->factor_mantissa;
    const int weight_align = layer->weight_align, velocity_align = layer->velocity_align;
    int16_t *weights = layer->weights, *velocity = layer->velocity;
    const int64_t *update_sums = layer->update_sums;
    ck_tally32 t0 = {0, 0, 0}, t2 = {0, 0, 0}, t3 = {0, 0, 0}, t4 = {0, 0, 0};
    int32_t saturations1 = 0, rounded_to_zero1 = 0, moved_not = 0;
    uint32_t largest_sum = 0;
    const long count = layer->count;
    /* In blocks of 512, two passes: the updates (the only 64-bit arithmetic)
       into a small buffer, then everything else, so that each loop vectorises
       with few live registers. */
    int32_t updates[512];
    for (long start = 0; start < count; start += 512) {
        const long block = count - start < 512 ? count - start : 512;
        if (with_updates) {
            const int64_t *block_sums = update_sums + start;
            for (long j = 0; j < block; j++) {
                int32_t s = (int32_t)block_sums[j];
                uint32_t s_magnitude = s < 0 ? 0u - (uint32_t)s : (uint32_t)s;
                largest_sum = s_magnitude > largest_sum ? s_magnitude : largest_sum;
                updates[j] = ck_narrow_product((int64_t)s * factor, r1, min1, max1, mode, &saturations1, &rounded_to_zero1);
            }
        }
        int16_t *block_weights = weights + start, *block_velocity = velocity + start;
        for (long j = 0; j < block; j++) {
            int32_t v = ck_narrow32((int32_t)block_velocity[j] * momentum, 0, r0, mask0, half0, min0, max0, mode, &t0);
            if (with_updates) {
                int32_t u_velocity = ck_narrow32(updates[j], left2, right2, mask2, half2, min2, max2, mode, &t2);
                v = ck_narrow32(v + u_velocity, 0, 0, 0, INT32_MAX, min3, max3, CK_ROUND_TRUNCATE, &t3);
            }
            int32_t old = block_weights[j];
            int32_t w = ck_narrow32((int32_t)((uint32_t)old << weight_align) - (int32_t)((uint32_t)v << velocity_align), 0, r4,
                                 mask4, half4, min4, max4, mode, &t4);
            moved_not += v != 0 && w == old;
            block_velocity[j] = (int16_t)v;
            block_weights[j] = (int16_t)w;
        }
    }
    ck_narrowing_tally wide0 = {t0.saturations, t0.rounded_to_zero, t0.max_magnitude};
    ck_narrowing_counts_add(&counts[0], wide0);
    if (with_updates) {
        uint64_t factor_magnitude = ck_magnitude64(factor);
        ck_narrowing_tally wide1 = {saturations1, rounded_to_zero1, (uint64_t)largest_sum * factor_magnitude};
        ck_narrowing_tally wide2 = {t2.saturations, t2.rounded_to_zero, t2.max_magnitude};
        ck_narrowing_tally wide3 = {t3.saturations, t3.rounded_to_zero, t3.max_magnitude};
        ck_narrowing_counts_add(&counts[1], wide1);
        ck_narrowing_counts_add(&counts[2], wide2);
        ck_narrowing_counts_add(&counts[3], wide3);
    }
    ck_narrowing_tally wide4 = {t4.saturations, t4.rounded_to_zero, t4.max_magnitude};
    ck_narrowing_counts_add(&counts[4], wide4);
    *unmoved += moved_not;
}

static int narrowing_fits_32_bits(ck_narrowing_spec narrowing, int mode) {
    /* A format holding 0 also lets the vector loops pad with zeros that count nothing. */
    return narrowing.mode == mode && narrowing.min_code >= INT16_MIN && narrowing.max_code <= INT16_MAX &&
           narrowing.min_code <= 0 && narrowing.max_code >= 0;
}

/*
 * Whether momentum_loop32 computes this layer exactly: one deterministic
 * rounding mode for the narrowings used, formats holding 0, no update codes kept, right shifts
 * (0..31; 0..62 for the update) except the update-to-velocity move (left up to
 * 15), codes of at most 16 bits aligned by at most 15 bits, velocity codes
 * times the momentum inside Int32 (|momentum| <= 2^15), the update sums
 * (|s| <= update_sums_bound) and the factor inside Int32 (so |s * factor| <
 * 2^62), and fewer than 2^31 elements (Int32 tallies).
 */
static int momentum_fits_32_bits(const ck_momentum_layer *layer) {
    const ck_narrowing_spec *n = layer->narrowings;
    int mode = n[0].mode;
    if (mode == CK_ROUND_STOCHASTIC || layer->update_codes != 0 || layer->count >= INT32_MAX) return 0;
    if (!narrowing_fits_32_bits(n[0], mode) || !narrowing_fits_32_bits(n[4], mode)) return 0;
    if (n[0].shift < 0 || n[0].shift > 31 || n[4].shift < 0 || n[4].shift > 31) return 0;
    if (layer->weight_align < 0 || layer->weight_align > 15 || layer->velocity_align < 0 || layer->velocity_align > 15) return 0;
    if (ck_magnitude64(layer->momentum_mantissa) > ((uint64_t)1 << 15)) return 0;
    if (layer->update_sums != 0) {
        for (int k = 1; k <= 3; k++) {
            if (!narrowing_fits_32_bits(n[k], mode)) return 0;
        }
        if (n[1].shift < 0 || n[1].shift > 62 || n[2].shift < -15 || n[2].shift > 31 || n[3].shift != 0) return 0;
        if (layer->update_sums_bound > (uint64_t)INT32_MAX || ck_magnitude64(layer->factor_mantissa) > (uint64_t)INT32_MAX) return 0;
    }
    return 1;
}

/*
 * Whether narrowings 0, 1 and 4 shift right (or not at all) and narrowing 3 not
 * at all, as they do for every momentum below 1 and every format plan with
 * updates finer than their scaled sums: then the loop leaves out left shifts.
 */
static int momentum_shapes_known(const ck_momentum_layer *layer) {
    return layer->narrowings[0].shift >= 0 && layer->narrowings[1].shift >= 0 && layer->narrowings[3].shift == 0 &&
           layer->narrowings[4].shift >= 0;
}

/*
 * One straight loop per rounding mode, with and without updates, when every
 * role rounds alike (the presets) and no update codes are kept; else (mixed
 * modes, golden recording) a general loop.
 */
#define CK_MOMENTUM_MODE_CASE(mode) \
    case mode: \
        if (with_updates && shaped) momentum_loop(layer, mode, mode, mode, 1, 0, 1, counts, unmoved); \
        else if (with_updates) momentum_loop(layer, mode, mode, mode, 1, 0, 0, counts, unmoved); \
        else if (shaped) momentum_loop(layer, mode, mode, mode, 0, 0, 1, counts, unmoved); \
        else momentum_loop(layer, mode, mode, mode, 0, 0, 0, counts, unmoved); \
        return;
#define CK_MOMENTUM32_MODE_CASE(mode) \
    case mode: \
        if (with_updates) momentum_loop32(layer, mode, 1, counts, unmoved); \
        else momentum_loop32(layer, mode, 0, counts, unmoved); \
        return;
#define CK_MOMENTUM_BY_MODE(name, attributes) \
    attributes static void name(const ck_momentum_layer *layer, ck_narrowing_counts counts[5], long *unmoved) { \
        int state = layer->narrowings[0].mode, updates = layer->narrowings[1].mode, weights = layer->narrowings[4].mode; \
        int with_updates = layer->update_sums != 0, store_codes = layer->update_codes != 0; \
        int shaped = momentum_shapes_known(layer); \
        if (state == updates && state == weights && !store_codes) { \
            switch (state) { \
            CK_MOMENTUM_MODE_CASE(CK_ROUND_NEAREST_EVEN) \
            CK_MOMENTUM_MODE_CASE(CK_ROUND_NEAREST_AWAY) \
            CK_MOMENTUM_MODE_CASE(CK_ROUND_STOCHASTIC) \
            CK_MOMENTUM_MODE_CASE(CK_ROUND_TRUNCATE) \
            } \
        } \
        momentum_loop(layer, state, updates, weights, with_updates, store_codes, 0, counts, unmoved); \
    }

CK_MOMENTUM_BY_MODE(momentum_portable, )

/* Layers momentum_fits_32_bits admits, on the portable path (the x86 paths run ck_momentum32_x86). */
static void momentum32_portable(const ck_momentum_layer *layer, ck_narrowing_counts counts[5], long *unmoved) {
    int with_updates = layer->update_sums != 0;
    switch (layer->narrowings[0].mode) {
    CK_MOMENTUM32_MODE_CASE(CK_ROUND_NEAREST_EVEN)
    CK_MOMENTUM32_MODE_CASE(CK_ROUND_NEAREST_AWAY)
    CK_MOMENTUM32_MODE_CASE(CK_ROUND_TRUNCATE)
    }
    momentum_portable(layer, counts, unmoved); /* not reached: the gate admits deterministic modes only */
}
#if CK_X86
CK_MOMENTUM_BY_MODE(momentum_avx2, CK_TARGET_AVX2)
CK_MOMENTUM_BY_MODE(momentum_avx512, CK_TARGET_AVX512)
#endif

void ck_momentum_update(const ck_momentum_layer *layer, ck_narrowing_counts counts[5], long *unmoved) {
    int fits_32_bits = momentum_fits_32_bits(layer);
#if CK_X86
    int path = ck_active_path();
    if (path == CK_PATH_AVX512 || path == CK_PATH_AVX2) {
        if (fits_32_bits) ck_momentum32_x86(layer, counts, unmoved);
        else if (path == CK_PATH_AVX512) momentum_avx512(layer, counts, unmoved);
        else momentum_avx2(layer, counts, unmoved);
        return;
    }
#endif
    if (fits_32_bits) momentum32_portable(layer, counts, unmoved);
    else momentum_portable(layer, counts, unmoved);
}
