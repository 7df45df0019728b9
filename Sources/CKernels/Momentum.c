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
#if CK_X86
CK_MOMENTUM_BY_MODE(momentum_avx2, CK_TARGET_AVX2)
CK_MOMENTUM_BY_MODE(momentum_avx512, CK_TARGET_AVX512)
#endif

void ck_momentum_update(const ck_momentum_layer *layer, ck_narrowing_counts counts[5], long *unmoved) {
#if CK_X86
    int path = ck_selected_path();
    if (path < 0) path = ck_best_path();
    if (path == CK_PATH_AVX512) {
        momentum_avx512(layer, counts, unmoved);
        return;
    }
    if (path == CK_PATH_AVX2) {
        momentum_avx2(layer, counts, unmoved);
        return;
    }
#endif
    momentum_portable(layer, counts, unmoved);
}
