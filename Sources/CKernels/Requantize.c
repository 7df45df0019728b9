/*
 * Narrowing exact Int64 sums (and float values) to Int16 codes (see CKernels.h,
 * TensorQuantization.requantize and .quantize, whose contracts these loops keep
 * bit for bit).
 * One loop per rounding mode, so each is a straight line the compiler can
 * vectorise rather than a switch per element.
 */
#include "Internal.h"

static const uint64_t gamma_step = 0x9E3779B97F4A7C15ull;


static inline __attribute__((always_inline)) void requantize_loop(const int64_t *sums, long count, int shift, int32_t min_code, int32_t max_code,
                                   int mode, uint64_t key, uint64_t first_index, int16_t *codes,
                                   ck_narrowing_counts *counts) {
    ck_narrowing narrowing = ck_narrowing_make(shift, min_code, max_code, mode, key);
    ck_narrowing_tally tally = {0, 0, 0};
    for (long i = 0; i < count; i++) {
        codes[i] = (int16_t)ck_narrow(narrowing, mode, CK_SHIFT_ANY, sums[i], first_index + (uint64_t)i, &tally);
    }
    ck_narrowing_counts_add(counts, tally);
}

/* The four mode-specialised loops, instantiated once per instruction set. */
#define CK_REQUANTIZE_BY_MODE(name, attributes) \
    attributes static void name(const int64_t *sums, long count, int shift, int32_t min_code, int32_t max_code, \
                                int mode, uint64_t key, uint64_t first_index, int16_t *codes, ck_narrowing_counts *counts) { \
        switch (mode) { \
        case CK_ROUND_NEAREST_EVEN: \
            requantize_loop(sums, count, shift, min_code, max_code, CK_ROUND_NEAREST_EVEN, key, first_index, codes, counts); \
            break; \
        case CK_ROUND_NEAREST_AWAY: \
            requantize_loop(sums, count, shift, min_code, max_code, CK_ROUND_NEAREST_AWAY, key, first_index, codes, counts); \
            break; \
        case CK_ROUND_STOCHASTIC: \
            requantize_loop(sums, count, shift, min_code, max_code, CK_ROUND_STOCHASTIC, key, first_index, codes, counts); \
            break; \
        default: \
            requantize_loop(sums, count, shift, min_code, max_code, CK_ROUND_TRUNCATE, key, first_index, codes, counts); \
        } \
    }

CK_REQUANTIZE_BY_MODE(requantize_portable, )
#if CK_X86
CK_REQUANTIZE_BY_MODE(requantize_avx2, CK_TARGET_AVX2)
CK_REQUANTIZE_BY_MODE(requantize_avx512, CK_TARGET_AVX512)
#endif

void ck_requantize(const int64_t *sums, long count, int shift, int32_t min_code, int32_t max_code, int mode,
                   uint64_t key, uint64_t first_index, int16_t *codes, ck_narrowing_counts *counts) {
#if CK_X86
    int path = ck_selected_path();
    if (path < 0) path = ck_best_path();
    if (path == CK_PATH_AVX512) {
        requantize_avx512(sums, count, shift, min_code, max_code, mode, key, first_index, codes, counts);
        return;
    }
    if (path == CK_PATH_AVX2) {
        requantize_avx2(sums, count, shift, min_code, max_code, mode, key, first_index, codes, counts);
        return;
    }
#endif
    requantize_portable(sums, count, shift, min_code, max_code, mode, key, first_index, codes, counts);
}

static inline __attribute__((always_inline)) void quantize_loop(
    const float *values, long count, int fractional_bits, int32_t min_code, int32_t max_code, int mode,
    uint64_t key, uint64_t first_index, int16_t *codes, ck_narrowing_counts *counts, float *max_magnitude_float) {
    double scale = 1.0;
    for (int i = 0; i < fractional_bits; i++) scale *= 2.0;
    for (int i = 0; i > fractional_bits; i--) scale *= 0.5;
    double low = (double)min_code - 1, high = (double)max_code + 1;
    long saturations = 0, rounded_to_zero = 0;
    float max_magnitude = *max_magnitude_float;
    uint32_t largest_bits = 0;
    for (long i = 0; i < count; i++) {
        float value = values[i];
        double scaled = (double)value * scale;
        int64_t code;
        int saturated;
        if (value != value) {
            code = 0;
            saturated = 1;
        } else if (scaled < low) {
            code = min_code;
            saturated = 1;
        } else if (scaled > high) {
            code = max_code;
            saturated = 1;
        } else {
            int64_t truncated = (int64_t)scaled;
            int64_t floor = (double)truncated > scaled ? truncated - 1 : truncated;
            double fraction = scaled - (double)floor;
            int up;
            switch (mode) {
            case CK_ROUND_NEAREST_EVEN: up = fraction > 0.5 || (fraction == 0.5 && (floor & 1)); break;
            case CK_ROUND_NEAREST_AWAY: up = fraction > 0.5 || (fraction == 0.5 && scaled > 0); break;
            case CK_ROUND_STOCHASTIC: {
                uint64_t bits = ck_mix(key + gamma_step * (first_index + (uint64_t)i + 1));
                up = (double)(bits >> 11) * 0x1p-53 < fraction;
                break;
            }
            default: up = 0;
            }
            int64_t rounded = floor + up;
            saturated = rounded < min_code || rounded > max_code;
            code = rounded < min_code ? min_code : rounded > max_code ? max_code : rounded;
        }
        codes[i] = (int16_t)code;
        saturations += saturated;
        rounded_to_zero += !saturated && code == 0 && value != 0;
        /* The largest |value| as the largest bit pattern with the sign cleared
           (the order of non-negative floats; NaN counts as 0): an integer
           maximum, which vectorises where a float one with NaN would not. */
        uint32_t bits;
        memcpy(&bits, &value, sizeof bits);
        bits = value != value ? 0 : bits & 0x7FFFFFFFu;
        largest_bits = bits > largest_bits ? bits : largest_bits;
    }
    counts->saturations += saturations;
    counts->rounded_to_zero += rounded_to_zero;
    float largest;
    memcpy(&largest, &largest_bits, sizeof largest);
    *max_magnitude_float = largest > max_magnitude ? largest : max_magnitude;
}

#define CK_QUANTIZE_BY_MODE(name, attributes) \
    attributes static void name(const float *values, long count, int fractional_bits, int32_t min_code, \
                                int32_t max_code, int mode, uint64_t key, uint64_t first_index, int16_t *codes, \
                                ck_narrowing_counts *counts, float *max_magnitude_float) { \
        switch (mode) { \
        case CK_ROUND_NEAREST_EVEN: \
            quantize_loop(values, count, fractional_bits, min_code, max_code, CK_ROUND_NEAREST_EVEN, key, first_index, \
                          codes, counts, max_magnitude_float); \
            break; \
        case CK_ROUND_NEAREST_AWAY: \
            quantize_loop(values, count, fractional_bits, min_code, max_code, CK_ROUND_NEAREST_AWAY, key, first_index, \
                          codes, counts, max_magnitude_float); \
            break; \
        case CK_ROUND_STOCHASTIC: \
            quantize_loop(values, count, fractional_bits, min_code, max_code, CK_ROUND_STOCHASTIC, key, first_index, \
                          codes, counts, max_magnitude_float); \
            break; \
        default: \
            quantize_loop(values, count, fractional_bits, min_code, max_code, CK_ROUND_TRUNCATE, key, first_index, \
                          codes, counts, max_magnitude_float); \
        } \
    }

CK_QUANTIZE_BY_MODE(quantize_portable, )
#if CK_X86
CK_QUANTIZE_BY_MODE(quantize_avx2, CK_TARGET_AVX2)
CK_QUANTIZE_BY_MODE(quantize_avx512, CK_TARGET_AVX512)
#endif

void ck_quantize(const float *values, long count, int fractional_bits, int32_t min_code, int32_t max_code, int mode,
                 uint64_t key, uint64_t first_index, int16_t *codes, ck_narrowing_counts *counts,
                 float *max_magnitude_float) {
#if CK_X86
    int path = ck_selected_path();
    if (path < 0) path = ck_best_path();
    if (path == CK_PATH_AVX512) {
        quantize_avx512(values, count, fractional_bits, min_code, max_code, mode, key, first_index, codes, counts,
                        max_magnitude_float);
        return;
    }
    if (path == CK_PATH_AVX2) {
        quantize_avx2(values, count, fractional_bits, min_code, max_code, mode, key, first_index, codes, counts,
                      max_magnitude_float);
        return;
    }
#endif
    quantize_portable(values, count, fractional_bits, min_code, max_code, mode, key, first_index, codes, counts,
                      max_magnitude_float);
}

/* The largest |sums[i]| (for dynamic formats), one vectorised loop per path. */
static inline __attribute__((always_inline)) uint64_t max_magnitude_loop(const int64_t *sums, long count) {
    uint64_t largest = 0;
    for (long i = 0; i < count; i++) {
        uint64_t magnitude = sums[i] < 0 ? (uint64_t)0 - (uint64_t)sums[i] : (uint64_t)sums[i];
        largest = magnitude > largest ? magnitude : largest;
    }
    return largest;
}

static uint64_t max_magnitude_portable(const int64_t *sums, long count) { return max_magnitude_loop(sums, count); }
#if CK_X86
CK_TARGET_AVX2 static uint64_t max_magnitude_avx2(const int64_t *sums, long count) { return max_magnitude_loop(sums, count); }
CK_TARGET_AVX512 static uint64_t max_magnitude_avx512(const int64_t *sums, long count) {
    return max_magnitude_loop(sums, count);
}
#endif

uint64_t ck_max_magnitude(const int64_t *sums, long count) {
#if CK_X86
    int path = ck_selected_path();
    if (path < 0) path = ck_best_path();
    if (path == CK_PATH_AVX512) return max_magnitude_avx512(sums, count);
    if (path == CK_PATH_AVX2) return max_magnitude_avx2(sums, count);
#endif
    return max_magnitude_portable(sums, count);
}
