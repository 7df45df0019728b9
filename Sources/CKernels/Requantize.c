/*
 * Narrowing exact Int64 sums (and float values) to Int16 codes (see CKernels.h,
 * TensorQuantization.requantize and .quantize, whose contracts these loops keep
 * bit for bit).
 * One loop per rounding mode, so each is a straight line the compiler can
 * vectorise rather than a switch per element.
 */
#include "Internal.h"

/* The largest |sums[i]| (for dynamic formats), one vectorised loop per path. */
static inline __attribute__((always_inline)) uint64_t max_magnitude_loop(const int64_t *sums, long count) {
    uint64_t largest = 0;
    for (long i = 0; i < count; i++) {
        uint64_t magnitude = ck_magnitude64(sums[i]);
        largest = magnitude > largest ? magnitude : largest;
    }
    return largest;
}

/* Whether chunks of sums inside Int32 narrow in 32-bit lanes: a deterministic
   mode, a right shift of at most 31, Int16 codes, and a format holding 0 (the
   vector loops pad a ragged end with zeros). */
static inline int requantize_lanes32(int shift, int32_t min_code, int32_t max_code, int mode) {
    return mode != CK_ROUND_STOCHASTIC && shift >= 0 && shift <= 31 && min_code >= INT16_MIN && max_code <= INT16_MAX &&
           min_code <= 0 && max_code >= 0;
}

/*
 * In chunks of 1,024: a chunk whose sums all fit in Int32 (their largest
 * magnitude is scanned first, and is the chunk's tally) is narrowed in 32-bit
 * lanes when requantize_lanes32 admits the narrowing; any other chunk element
 * by element in 64 bits. Same codes and counts.
 */
static inline __attribute__((always_inline)) void requantize_loop(const int64_t *sums, long count, int shift, int32_t min_code, int32_t max_code,
                                   int mode, uint64_t key, uint64_t first_index, int16_t *codes,
                                   ck_narrowing_counts *counts) {
    ck_narrowing narrowing = ck_narrowing_make(shift, min_code, max_code, mode, key);
    ck_narrowing_tally tally = {0, 0, 0};
    const int lanes32 = requantize_lanes32(shift, min_code, max_code, mode);
    const int32_t mask = lanes32 ? ck_mask32(shift) : 0, half = lanes32 ? ck_half32(shift) : 0;
    for (long start = 0; start < count; start += 1024) {
        const long chunk = ck_min(count - start, 1024);
        const int64_t *chunk_sums = sums + start;
        int16_t *chunk_codes = codes + start;
        uint64_t largest = lanes32 ? max_magnitude_loop(chunk_sums, chunk) : UINT64_MAX;
        if (largest <= (uint64_t)INT32_MAX) {
            ck_tally32 narrow = {0, 0, 0};
            for (long j = 0; j < chunk; j++) {
                chunk_codes[j] = (int16_t)ck_narrow32((int32_t)chunk_sums[j], 0, shift, mask, half, min_code, max_code, mode,
                                                      &narrow);
            }
            tally.saturations += narrow.saturations;
            tally.rounded_to_zero += narrow.rounded_to_zero;
            tally.max_magnitude = largest > tally.max_magnitude ? largest : tally.max_magnitude;
            continue;
        }
        for (long j = 0; j < chunk; j++) {
            chunk_codes[j] = (int16_t)ck_narrow(narrowing, mode, CK_SHIFT_ANY, chunk_sums[j], first_index + (uint64_t)(start + j),
                                                &tally);
        }
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
CK_REQUANTIZE_BY_MODE(requantize_loop_avx2, CK_TARGET_AVX2)
CK_REQUANTIZE_BY_MODE(requantize_avx512, CK_TARGET_AVX512)

/* What a chunk's vectors have seen, lane by lane: whether every sum fit in Int32, the narrowing's lane counts, the largest |sum|. */
typedef struct {
    __m256i fits;
    lane_counts8 counted;
    __m256i largest;
} requantize_lanes;

/* Eight sums narrowed in Int32 lanes, their codes returned in element order. */
CK_TARGET_AVX2 static inline __attribute__((always_inline)) __m128i requantize8_avx2(const int64_t *sums,
                                                                                    const narrowing32 *n, int mode,
                                                                                    requantize_lanes *lanes) {
    sums8 s = load_sums8(sums);
    lanes->fits = _mm256_and_si256(lanes->fits, sums8_fit32(s));
    lanes->largest = _mm256_max_epu32(lanes->largest, magnitude32(s.low));
    return codes16_of_sums8(clamp8(n, CK_SHIFT_RIGHT, shift_round8(n, mode, CK_SHIFT_RIGHT, s.low), s.low, &lanes->counted));
}

/*
 * requantize_loop's 32-bit chunks written with AVX2 intrinsics: eight sums a
 * vector (the compiler narrows four at a time there, after scanning each
 * chunk's largest in 64-bit lanes). The low dwords of eight sums are narrowed
 * in Int32 lanes while their high dwords are checked to be the low dwords'
 * sign; a chunk where one is not (a sum beyond Int32) is left to the 64-bit
 * loop: returns 0 and its codes are to be overwritten. Tallies in vector
 * lanes, added to `tally` only for a chunk narrowed here. `count` at most 1,024.
 */
CK_TARGET_AVX2 static inline __attribute__((always_inline)) int requantize_chunk32_avx2(
    const int64_t *sums, long count, const narrowing32 *n, int mode, int16_t *codes, ck_narrowing_tally *tally) {
    const __m256i zero = _mm256_setzero_si256();
    requantize_lanes lanes = {_mm256_set1_epi32(-1), {zero, zero}, zero};
    const long whole = count / 8 * 8;
    for (long j = 0; j < whole; j += 8) _mm_storeu_si128((__m128i *)(codes + j), requantize8_avx2(sums + j, n, mode, &lanes));
    if (whole < count) {
        /* The ragged end through zero padding: zeros narrow to 0 (the format holds it) and count nothing. */
        int64_t padded[8] = {0};
        int16_t lane_codes[8];
        memcpy(padded, sums + whole, (size_t)(count - whole) * sizeof(int64_t));
        _mm_storeu_si128((__m128i *)lane_codes, requantize8_avx2(padded, n, mode, &lanes));
        memcpy(codes + whole, lane_codes, (size_t)(count - whole) * sizeof(int16_t));
    }
    if (!_mm256_testc_si256(lanes.fits, _mm256_set1_epi32(-1))) return 0;
    long saturations = 0, rounded_to_zero = 0;
    lane_counts8_add(&lanes.counted, (count + 7) / 8, &saturations, &rounded_to_zero);
    tally->saturations += saturations;
    tally->rounded_to_zero += rounded_to_zero;
    uint64_t chunk_largest = ck_horizontal_max_epu32(lanes.largest);
    if (chunk_largest > tally->max_magnitude) tally->max_magnitude = chunk_largest;
    return 1;
}

CK_TARGET_AVX2 static inline __attribute__((always_inline)) void requantize32_avx2(
    const int64_t *sums, long count, int shift, int32_t min_code, int32_t max_code, int mode, uint64_t key,
    uint64_t first_index, int16_t *codes, ck_narrowing_counts *counts) {
    const narrowing32 n = narrowing32_make(shift, min_code, max_code);
    ck_narrowing_tally tally = {0, 0, 0};
    for (long start = 0; start < count; start += 1024) {
        const long chunk = ck_min(count - start, 1024);
        if (!requantize_chunk32_avx2(sums + start, chunk, &n, mode, codes + start, &tally))
            requantize_loop_avx2(sums + start, chunk, shift, min_code, max_code, mode, key, first_index + (uint64_t)start,
                                 codes + start, counts);
    }
    ck_narrowing_counts_add(counts, tally);
}

/* The AVX2 path: what requantize_lanes32 admits by requantize32_avx2, the rest by requantize_loop. */
CK_TARGET_AVX2 static void requantize_avx2(const int64_t *sums, long count, int shift, int32_t min_code, int32_t max_code,
                                           int mode, uint64_t key, uint64_t first_index, int16_t *codes,
                                           ck_narrowing_counts *counts) {
    if (!requantize_lanes32(shift, min_code, max_code, mode)) {
        requantize_loop_avx2(sums, count, shift, min_code, max_code, mode, key, first_index, codes, counts);
        return;
    }
    switch (mode) {
    case CK_ROUND_NEAREST_EVEN:
        requantize32_avx2(sums, count, shift, min_code, max_code, CK_ROUND_NEAREST_EVEN, key, first_index, codes, counts);
        break;
    case CK_ROUND_NEAREST_AWAY:
        requantize32_avx2(sums, count, shift, min_code, max_code, CK_ROUND_NEAREST_AWAY, key, first_index, codes, counts);
        break;
    default:
        requantize32_avx2(sums, count, shift, min_code, max_code, CK_ROUND_TRUNCATE, key, first_index, codes, counts);
    }
}
#endif

void ck_requantize(const int64_t *sums, long count, int shift, int32_t min_code, int32_t max_code, int mode,
                   uint64_t key, uint64_t first_index, int16_t *codes, ck_narrowing_counts *counts) {
#if CK_X86
    int path = ck_active_path();
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

/* 2^n as a double, by exact doublings or halvings (the quantise loops' scale). */
static inline double power_of_two(int n) {
    double scale = 1.0;
    for (int i = 0; i < n; i++) scale *= 2.0;
    for (int i = 0; i > n; i--) scale *= 0.5;
    return scale;
}

static inline __attribute__((always_inline)) void quantize_loop(
    const float *values, long count, int fractional_bits, int32_t min_code, int32_t max_code, int mode,
    uint64_t key, uint64_t first_index, int16_t *codes, ck_narrowing_counts *counts, float *max_magnitude_float) {
    double scale = power_of_two(fractional_bits);
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
                uint64_t bits = ck_draw_bits(key, first_index + (uint64_t)i);
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

/*
 * quantize_loop for round-to-nearest-even, branch-free so that it vectorises:
 * the double `scaled` rounded by roundeven is exactly floor + (fraction > 0.5 or
 * a tie with an odd floor); saturation and counts as quantize_loop.
 */
static inline __attribute__((always_inline)) void quantize_nearest_even_loop(
    const float *values, long count, int fractional_bits, int32_t min_code, int32_t max_code, int16_t *codes,
    ck_narrowing_counts *counts, float *max_magnitude_float) {
    double scale = power_of_two(fractional_bits);
    const double low = (double)min_code, high = (double)max_code;
    long saturations = 0, rounded_to_zero = 0;
    uint32_t largest_bits = 0;
    for (long i = 0; i < count; i++) {
        float value = values[i];
        int not_a_number = value != value;
        double rounded = __builtin_roundeven((double)value * scale);
        int saturated = not_a_number | (rounded < low) | (rounded > high);
        double clamped = rounded < low ? low : rounded > high ? high : rounded;
        int32_t code = (int32_t)(not_a_number ? 0.0 : clamped);
        codes[i] = (int16_t)code;
        saturations += saturated;
        rounded_to_zero += !saturated & (code == 0) & (value != 0);
        uint32_t bits;
        memcpy(&bits, &value, sizeof bits);
        bits = not_a_number ? 0 : bits & 0x7FFFFFFFu;
        largest_bits = bits > largest_bits ? bits : largest_bits;
    }
    counts->saturations += saturations;
    counts->rounded_to_zero += rounded_to_zero;
    float largest;
    memcpy(&largest, &largest_bits, sizeof largest);
    *max_magnitude_float = largest > *max_magnitude_float ? largest : *max_magnitude_float;
}

#define CK_QUANTIZE_BY_MODE(name, attributes) \
    attributes static void name(const float *values, long count, int fractional_bits, int32_t min_code, \
                                int32_t max_code, int mode, uint64_t key, uint64_t first_index, int16_t *codes, \
                                ck_narrowing_counts *counts, float *max_magnitude_float) { \
        switch (mode) { \
        case CK_ROUND_NEAREST_EVEN: \
            quantize_nearest_even_loop(values, count, fractional_bits, min_code, max_code, codes, counts, \
                                       max_magnitude_float); \
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

/*
 * quantize_nearest_even_loop with AVX2 intrinsics in float lanes, eight
 * values at a time, for |fractional_bits| <= 100 and codes inside Int16. The
 * float product value * 2^fractional_bits is exact wherever it matters: a
 * power-of-two scale only moves the exponent, a product beyond float range is
 * infinite (saturated either way), and one that would be subnormal is below
 * half a step (code 0 either way). Codes are exact in float, so the rounding
 * (roundeven), the compares and the clamp are those of the double loop. The
 * tail (fewer than eight) goes through quantize_nearest_even_loop.
 */
CK_TARGET_AVX2 static void quantize_nearest_even_avx2(const float *values, long count, int fractional_bits, int32_t min_code,
                                                      int32_t max_code, int16_t *codes, ck_narrowing_counts *counts,
                                                      float *max_magnitude_float) {
    /* 2^fractional_bits, a normal float (exactly) for |fractional_bits| <= 100. */
    const __m256 factor = _mm256_set1_ps((float)power_of_two(fractional_bits));
    const __m256 low = _mm256_set1_ps((float)min_code), high = _mm256_set1_ps((float)max_code), zero = _mm256_setzero_ps();
    const __m256i magnitude_bits = _mm256_set1_epi32(0x7FFFFFFF);
    __m256i saturated_lanes = _mm256_setzero_si256(), vanished_lanes = _mm256_setzero_si256(), largest = _mm256_setzero_si256();
    long i = 0;
    for (; i + 8 <= count; i += 8) {
        __m256 value = _mm256_loadu_ps(values + i);
        __m256 not_a_number = _mm256_cmp_ps(value, value, _CMP_UNORD_Q);
        __m256 rounded = _mm256_round_ps(_mm256_mul_ps(value, factor), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        __m256 saturated = _mm256_or_ps(not_a_number, _mm256_or_ps(_mm256_cmp_ps(rounded, low, _CMP_LT_OQ),
                                                                   _mm256_cmp_ps(rounded, high, _CMP_GT_OQ)));
        /* max/min return their second operand for NaN: NaN lanes become `low`, then 0 below. */
        __m256 clamped = _mm256_min_ps(_mm256_max_ps(rounded, low), high);
        __m256i code = _mm256_andnot_si256(_mm256_castps_si256(not_a_number), _mm256_cvttps_epi32(clamped));
        __m128i packed = _mm_packs_epi32(_mm256_castsi256_si128(code), _mm256_extracti128_si256(code, 1));
        _mm_storeu_si128((__m128i *)(codes + i), packed);
        saturated_lanes = _mm256_sub_epi32(saturated_lanes, _mm256_castps_si256(saturated));
        __m256 vanished = _mm256_andnot_ps(saturated, _mm256_and_ps(_mm256_cmp_ps(rounded, zero, _CMP_EQ_OQ),
                                                                    _mm256_cmp_ps(value, zero, _CMP_NEQ_UQ)));
        vanished_lanes = _mm256_sub_epi32(vanished_lanes, _mm256_castps_si256(vanished));
        __m256i bits = _mm256_andnot_si256(_mm256_castps_si256(not_a_number),
                                           _mm256_and_si256(_mm256_castps_si256(value), magnitude_bits));
        largest = _mm256_max_epu32(largest, bits);
    }
    uint32_t lanes[8], vanish[8];
    _mm256_storeu_si256((__m256i *)lanes, saturated_lanes);
    _mm256_storeu_si256((__m256i *)vanish, vanished_lanes);
    for (int lane = 0; lane < 8; lane++) {
        counts->saturations += lanes[lane];
        counts->rounded_to_zero += vanish[lane];
    }
    uint32_t largest_bits = ck_horizontal_max_epu32(largest);
    float vector_largest;
    memcpy(&vector_largest, &largest_bits, sizeof vector_largest);
    if (vector_largest > *max_magnitude_float) *max_magnitude_float = vector_largest;
    quantize_nearest_even_loop(values + i, count - i, fractional_bits, min_code, max_code, codes + i, counts,
                               max_magnitude_float);
}

CK_QUANTIZE_BY_MODE(quantize_avx2_loops, CK_TARGET_AVX2)
CK_QUANTIZE_BY_MODE(quantize_avx512, CK_TARGET_AVX512)

/* The AVX2 path: the intrinsics loop where it applies (counts per call below 2^31 per lane: the caller's blocks). */
CK_TARGET_AVX2 static void quantize_avx2(const float *values, long count, int fractional_bits, int32_t min_code,
                                         int32_t max_code, int mode, uint64_t key, uint64_t first_index, int16_t *codes,
                                         ck_narrowing_counts *counts, float *max_magnitude_float) {
    if (mode == CK_ROUND_NEAREST_EVEN && fractional_bits >= -100 && fractional_bits <= 100 && min_code >= INT16_MIN &&
        max_code <= INT16_MAX && count < INT32_MAX) {
        quantize_nearest_even_avx2(values, count, fractional_bits, min_code, max_code, codes, counts, max_magnitude_float);
        return;
    }
    quantize_avx2_loops(values, count, fractional_bits, min_code, max_code, mode, key, first_index, codes, counts,
                        max_magnitude_float);
}
#endif

void ck_quantize(const float *values, long count, int fractional_bits, int32_t min_code, int32_t max_code, int mode,
                 uint64_t key, uint64_t first_index, int16_t *codes, ck_narrowing_counts *counts,
                 float *max_magnitude_float) {
#if CK_X86
    int path = ck_active_path();
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

static uint64_t max_magnitude_portable(const int64_t *sums, long count) { return max_magnitude_loop(sums, count); }
#if CK_X86
CK_TARGET_AVX2 static uint64_t max_magnitude_avx2(const int64_t *sums, long count) { return max_magnitude_loop(sums, count); }
CK_TARGET_AVX512 static uint64_t max_magnitude_avx512(const int64_t *sums, long count) {
    return max_magnitude_loop(sums, count);
}
#endif

uint64_t ck_max_magnitude(const int64_t *sums, long count) {
#if CK_X86
    int path = ck_active_path();
    if (path == CK_PATH_AVX512) return max_magnitude_avx512(sums, count);
    if (path == CK_PATH_AVX2) return max_magnitude_avx2(sums, count);
#endif
    return max_magnitude_portable(sums, count);
}

/* ReLU and the dropout multiply on exact sums (ck_relu_keep in CKernels.h). */
static inline __attribute__((always_inline)) int64_t relu_keep_loop(int64_t *values, long count, const float *keep,
                                                                    int64_t mantissa) {
    int64_t largest = 0;
    for (long i = 0; i < count; i++) {
        int64_t value = values[i] > 0 ? values[i] : 0;
        if (keep) {
            /* A dropped value becomes 0 first: the largest is over kept values
               only, and the loop has no branch (it vectorises). */
            value = keep[i] > 0 ? value : 0;
            largest = value > largest ? value : largest;
            value = (int64_t)((uint64_t)value * (uint64_t)mantissa);
        } else {
            largest = value > largest ? value : largest;
        }
        values[i] = value;
    }
    return largest;
}

static int64_t relu_keep_portable(int64_t *values, long count, const float *keep, int64_t mantissa) {
    return keep ? relu_keep_loop(values, count, keep, mantissa) : relu_keep_loop(values, count, 0, 0);
}
#if CK_X86
CK_TARGET_AVX2 static int64_t relu_keep_avx2(int64_t *values, long count, const float *keep, int64_t mantissa) {
    return keep ? relu_keep_loop(values, count, keep, mantissa) : relu_keep_loop(values, count, 0, 0);
}
CK_TARGET_AVX512 static int64_t relu_keep_avx512(int64_t *values, long count, const float *keep, int64_t mantissa) {
    return keep ? relu_keep_loop(values, count, keep, mantissa) : relu_keep_loop(values, count, 0, 0);
}
#endif

int64_t ck_relu_keep(int64_t *values, long count, const float *keep, int64_t mantissa) {
#if CK_X86
    int path = ck_active_path();
    if (path == CK_PATH_AVX512) return relu_keep_avx512(values, count, keep, mantissa);
    if (path == CK_PATH_AVX2) return relu_keep_avx2(values, count, keep, mantissa);
#endif
    return relu_keep_portable(values, count, keep, mantissa);
}

/* The ReLU derivative on exact sums by their layer's output codes (ck_gate_by_codes in CKernels.h). */
static inline __attribute__((always_inline)) uint64_t gate_loop(int64_t *values, const int16_t *codes, long count,
                                                                int64_t mantissa) {
    uint64_t largest = 0;
    for (long i = 0; i < count; i++) {
        int64_t value = codes[i] > 0 ? values[i] : 0;
        uint64_t magnitude = ck_magnitude64(value);
        largest = magnitude > largest ? magnitude : largest;
        values[i] = (int64_t)((uint64_t)value * (uint64_t)mantissa);
    }
    return largest;
}

static uint64_t gate_portable(int64_t *values, const int16_t *codes, long count, int64_t mantissa) {
    return gate_loop(values, codes, count, mantissa);
}
#if CK_X86
CK_TARGET_AVX2 static uint64_t gate_avx2(int64_t *values, const int16_t *codes, long count, int64_t mantissa) {
    return mantissa == 1 ? gate_loop(values, codes, count, 1) : gate_loop(values, codes, count, mantissa);
}
CK_TARGET_AVX512 static uint64_t gate_avx512(int64_t *values, const int16_t *codes, long count, int64_t mantissa) {
    return mantissa == 1 ? gate_loop(values, codes, count, 1) : gate_loop(values, codes, count, mantissa);
}
#endif

uint64_t ck_gate_by_codes(int64_t *values, const int16_t *codes, long count, int64_t mantissa) {
#if CK_X86
    int path = ck_active_path();
    if (path == CK_PATH_AVX512) return gate_avx512(values, codes, count, mantissa);
    if (path == CK_PATH_AVX2) return gate_avx2(values, codes, count, mantissa);
#endif
    return gate_portable(values, codes, count, mantissa);
}

/* The accumulator policy (ck_apply_accumulator in CKernels.h): branch-free, so the clamping loop vectorises. */
static inline __attribute__((always_inline)) long apply_accumulator_loop(int64_t *sums, long count, int bits, int wrap,
                                                                          uint64_t *largest) {
    const int64_t high = (int64_t)(((uint64_t)1 << (bits - 1)) - 1), low = -high - 1;
    const int unused = 64 - bits;
    long overflows = 0;
    uint64_t largest_seen = 0;
    for (long i = 0; i < count; i++) {
        int64_t sum = sums[i];
        int64_t kept = wrap ? (int64_t)((uint64_t)sum << unused) >> unused : sum < low ? low : sum > high ? high : sum;
        overflows += kept != sum;
        sums[i] = kept;
        uint64_t magnitude = ck_magnitude64(kept);
        largest_seen = magnitude > largest_seen ? magnitude : largest_seen;
    }
    *largest = largest_seen;
    return overflows;
}

/* Clamping and wrapping as loops of their own (the mode a constant in each). */
#define CK_APPLY_ACCUMULATOR(name, attributes) \
    attributes static long name(int64_t *sums, long count, int bits, int wrap, uint64_t *largest) { \
        return wrap ? apply_accumulator_loop(sums, count, bits, 1, largest) \
                    : apply_accumulator_loop(sums, count, bits, 0, largest); \
    }

CK_APPLY_ACCUMULATOR(apply_accumulator_portable, )
#if CK_X86
CK_APPLY_ACCUMULATOR(apply_accumulator_avx2, CK_TARGET_AVX2)
CK_APPLY_ACCUMULATOR(apply_accumulator_avx512, CK_TARGET_AVX512)
#endif

#if CK_X86
/*
 * A 32-bit accumulator on AVX2, eight sums a vector: a vector whose sums all
 * fit in Int32 (each high dword the sign of its low dword) is left as it is
 * (nothing to clamp or wrap, nothing to store) and gives only its largest
 * |sum|; any other vector, and the ragged end, goes through the loop.
 */
CK_TARGET_AVX2 static long apply_accumulator32_avx2(int64_t *sums, long count, int wrap, uint64_t *largest) {
    long overflows = 0, i = 0;
    uint64_t largest_seen = 0;
    __m256i top = _mm256_setzero_si256();
    for (; i + 8 <= count; i += 8) {
        sums8 s = load_sums8(sums + i);
        if (_mm256_movemask_ps(_mm256_castsi256_ps(sums8_fit32(s))) == 0xFF) {
            top = _mm256_max_epu32(top, magnitude32(s.low));
            continue;
        }
        uint64_t part = 0;
        overflows += wrap ? apply_accumulator_loop(sums + i, 8, 32, 1, &part) : apply_accumulator_loop(sums + i, 8, 32, 0, &part);
        largest_seen = part > largest_seen ? part : largest_seen;
    }
    uint64_t rest = 0;
    overflows += wrap ? apply_accumulator_loop(sums + i, count - i, 32, 1, &rest)
                      : apply_accumulator_loop(sums + i, count - i, 32, 0, &rest);
    uint64_t vectors = ck_horizontal_max_epu32(top);
    largest_seen = rest > largest_seen ? rest : largest_seen;
    *largest = vectors > largest_seen ? vectors : largest_seen;
    return overflows;
}
#endif

long ck_apply_accumulator(int64_t *sums, long count, int bits, int wrap, uint64_t *largest) {
#if CK_X86
    int path = ck_active_path();
    if (path == CK_PATH_AVX512) return apply_accumulator_avx512(sums, count, bits, wrap, largest);
    if (path == CK_PATH_AVX2 && bits == 32) return apply_accumulator32_avx2(sums, count, wrap, largest);
    if (path == CK_PATH_AVX2) return apply_accumulator_avx2(sums, count, bits, wrap, largest);
#endif
    return apply_accumulator_portable(sums, count, bits, wrap, largest);
}

/* out[i] = a[i] + b[i] saturated to [min_code, max_code] (ck_saturating_add16 in CKernels.h). */
static inline __attribute__((always_inline)) long saturating_add16_loop(const int16_t *a, const int16_t *b, int16_t *out,
                                                                         long count, int32_t min_code, int32_t max_code) {
    long saturations = 0;
    for (long start = 0; start < count; start += 1 << 20) {
        const long end = ck_min(count, start + (1 << 20));
        int32_t chunk = 0; /* Int32 counts (vectorised as wide as the codes' sums) for chunks of 2^20 */
        for (long i = start; i < end; i++) {
            int32_t sum = (int32_t)a[i] + (int32_t)b[i];
            int32_t code = sum < min_code ? min_code : sum > max_code ? max_code : sum;
            out[i] = (int16_t)code;
            chunk += code != sum;
        }
        saturations += chunk;
    }
    return saturations;
}

static long saturating_add16_portable(const int16_t *a, const int16_t *b, int16_t *out, long count, int32_t min_code,
                                      int32_t max_code) {
    return saturating_add16_loop(a, b, out, count, min_code, max_code);
}
#if CK_X86
CK_TARGET_AVX2 static long saturating_add16_avx2(const int16_t *a, const int16_t *b, int16_t *out, long count,
                                                 int32_t min_code, int32_t max_code) {
    return saturating_add16_loop(a, b, out, count, min_code, max_code);
}
CK_TARGET_AVX512 static long saturating_add16_avx512(const int16_t *a, const int16_t *b, int16_t *out, long count,
                                                     int32_t min_code, int32_t max_code) {
    return saturating_add16_loop(a, b, out, count, min_code, max_code);
}
#endif

long ck_saturating_add16(const int16_t *a, const int16_t *b, int16_t *out, long count, int32_t min_code, int32_t max_code) {
#if CK_X86
    int path = ck_active_path();
    if (path == CK_PATH_AVX512) return saturating_add16_avx512(a, b, out, count, min_code, max_code);
    if (path == CK_PATH_AVX2) return saturating_add16_avx2(a, b, out, count, min_code, max_code);
#endif
    return saturating_add16_portable(a, b, out, count, min_code, max_code);
}
