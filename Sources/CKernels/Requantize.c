/*
 * Narrowing exact Int64 sums to Int16 codes (see CKernels.h and
 * TensorQuantization.requantize, whose contract this loop keeps bit for bit).
 * One loop per rounding mode, so each is a straight line the compiler can
 * vectorise rather than a switch per element.
 */
#include "Internal.h"

static const uint64_t gamma_step = 0x9E3779B97F4A7C15ull;

/* SplitMix64's output function (StochasticBits.mix). */
static inline uint64_t mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static inline __attribute__((always_inline)) void requantize_loop(const int64_t *sums, long count, int shift, int32_t min_code, int32_t max_code,
                                   int mode, uint64_t key, uint64_t first_index, int16_t *codes,
                                   ck_narrowing_counts *counts) {
    /* For a left shift by s, sum << s is in range exactly when sum lies in
       [ceil(min / 2^s), floor(max / 2^s)]; outside that, saturate unshifted. */
    int64_t exact_low = INT64_MIN, exact_high = INT64_MAX;
    if (shift < 0) {
        exact_high = (int64_t)max_code >> -shift;
        exact_low = -((-(int64_t)min_code) >> -shift);
    }
    uint64_t mask = shift > 0 ? ((uint64_t)1 << shift) - 1 : 0;
    uint64_t half = shift > 0 ? (uint64_t)1 << (shift - 1) : 0;
    long saturations = 0, rounded_to_zero = 0;
    uint64_t max_magnitude = counts->max_magnitude;
    for (long i = 0; i < count; i++) {
        int64_t sum = sums[i], shifted;
        if (shift <= 0) {
            shifted = (int64_t)((uint64_t)sum << -shift);
        } else {
            int64_t floor = sum >> shift;
            uint64_t remainder = (uint64_t)sum & mask;
            switch (mode) {
            case CK_ROUND_NEAREST_EVEN:
                shifted = floor + (remainder > half || (remainder == half && (floor & 1)));
                break;
            case CK_ROUND_NEAREST_AWAY:
                shifted = floor + (remainder > half || (remainder == half && sum >= 0));
                break;
            case CK_ROUND_STOCHASTIC: {
                uint64_t bits = mix(key + gamma_step * (first_index + (uint64_t)i + 1));
                shifted = floor + (int64_t)((remainder + (bits & mask)) >> shift);
                break;
            }
            default:
                shifted = floor;
            }
        }
        int64_t code = shifted < min_code ? min_code : shifted > max_code ? max_code : shifted;
        int saturated = shifted < min_code || shifted > max_code;
        if (sum < exact_low) { code = min_code; saturated = 1; }
        if (sum > exact_high) { code = max_code; saturated = 1; }
        codes[i] = (int16_t)code;
        saturations += saturated;
        rounded_to_zero += !saturated && code == 0 && sum != 0;
        uint64_t magnitude = sum < 0 ? (uint64_t)0 - (uint64_t)sum : (uint64_t)sum;
        max_magnitude = magnitude > max_magnitude ? magnitude : max_magnitude;
    }
    counts->saturations += saturations;
    counts->rounded_to_zero += rounded_to_zero;
    counts->max_magnitude = max_magnitude;
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
