/*
 * The fixed-point momentum step of one layer in one pass (ck_momentum_update in
 * CKernels.h; FixedPointMomentum has the contract). Each element goes through
 * the same five narrowings, in the same order and with the same random bits, as
 * the tensor-at-a-time formulation, so codes and counts are identical; only the
 * passes over memory are fused.
 */
#include "Internal.h"

static inline __attribute__((always_inline)) void momentum_loop(const ck_momentum_layer *layer, int mode_state, int mode_updates,
                                                                 int mode_weights, ck_narrowing_counts counts[5], long *unmoved) {
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
    ck_narrowing_tally tallies[5] = {{0, 0, 0}, {0, 0, 0}, {0, 0, 0}, {0, 0, 0}, {0, 0, 0}};
    int16_t *weights = layer->weights, *velocity = layer->velocity, *update_codes = layer->update_codes;
    const int64_t *update_sums = layer->update_sums;
    const int64_t momentum = layer->momentum_mantissa, factor = layer->factor_mantissa;
    const int weight_align = layer->weight_align, velocity_align = layer->velocity_align;
    long moved_not = 0;
    for (long i = 0; i < layer->count; i++) {
        uint64_t index = (uint64_t)i;
        int64_t v = ck_narrow(scaled_velocity, mode_state, (int64_t)velocity[i] * momentum, index, &tallies[0]);
        if (update_sums) {
            int64_t u = ck_narrow(update, mode_updates, update_sums[i] * factor, index, &tallies[1]);
            if (update_codes) update_codes[i] = (int16_t)u;
            int64_t u_velocity = ck_narrow(update_in_velocity, mode_state, u, index, &tallies[2]);
            v = ck_narrow(velocity_sum, mode_state, v + u_velocity, index, &tallies[3]);
        }
        int64_t old = weights[i];
        int64_t w = ck_narrow(weight, mode_weights, (int64_t)((uint64_t)old << weight_align) - (int64_t)((uint64_t)v << velocity_align), index, &tallies[4]);
        moved_not += v != 0 && w == old;
        velocity[i] = (int16_t)v;
        weights[i] = (int16_t)w;
    }
    int narrowings = update_sums ? 5 : 1;
    for (int n = 0; n < 5; n++) {
        if (n == 0 || n == 4 || narrowings == 5) ck_narrowing_counts_add(&counts[n], tallies[n]);
    }
    *unmoved += moved_not;
}

/* One loop per rounding mode when every role rounds alike (the presets), else a general one. */
#define CK_MOMENTUM_BY_MODE(name, attributes) \
    attributes static void name(const ck_momentum_layer *layer, ck_narrowing_counts counts[5], long *unmoved) { \
        int state = layer->narrowings[0].mode, updates = layer->narrowings[1].mode, weights = layer->narrowings[4].mode; \
        if (state == updates && state == weights) { \
            switch (state) { \
            case CK_ROUND_NEAREST_EVEN: \
                momentum_loop(layer, CK_ROUND_NEAREST_EVEN, CK_ROUND_NEAREST_EVEN, CK_ROUND_NEAREST_EVEN, counts, unmoved); \
                return; \
            case CK_ROUND_NEAREST_AWAY: \
                momentum_loop(layer, CK_ROUND_NEAREST_AWAY, CK_ROUND_NEAREST_AWAY, CK_ROUND_NEAREST_AWAY, counts, unmoved); \
                return; \
            case CK_ROUND_STOCHASTIC: \
                momentum_loop(layer, CK_ROUND_STOCHASTIC, CK_ROUND_STOCHASTIC, CK_ROUND_STOCHASTIC, counts, unmoved); \
                return; \
            case CK_ROUND_TRUNCATE: \
                momentum_loop(layer, CK_ROUND_TRUNCATE, CK_ROUND_TRUNCATE, CK_ROUND_TRUNCATE, counts, unmoved); \
                return; \
            } \
        } \
        momentum_loop(layer, state, updates, weights, counts, unmoved); \
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
