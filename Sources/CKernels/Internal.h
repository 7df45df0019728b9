#ifndef CKERNELS_INTERNAL_H
#define CKERNELS_INTERNAL_H

#include "include/CKernels.h"
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#define CK_X86 1
#define CK_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define CK_TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni")))
#else
#define CK_X86 0
#endif

#if CK_X86
#include <immintrin.h>
/* The largest of eight unsigned 32-bit lanes (AVX2 intrinsics loops). */
CK_TARGET_AVX2 static inline uint32_t ck_horizontal_max_epu32(__m256i x) {
    __m128i m = _mm_max_epu32(_mm256_castsi256_si128(x), _mm256_extracti128_si256(x, 1));
    m = _mm_max_epu32(m, _mm_shuffle_epi32(m, 0x4E));
    m = _mm_max_epu32(m, _mm_shuffle_epi32(m, 0xB1));
    return (uint32_t)_mm_cvtsi128_si32(m);
}

/* The sum of eight 32-bit lanes (nonnegative counts, below 2^31 in all). */
CK_TARGET_AVX2 static inline long ck_horizontal_sum_epi32(__m256i x) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(x), _mm256_extracti128_si256(x, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}
#endif

/* 64-byte aligned scratch memory (packed panels). */
static inline void *ck_allocate(size_t bytes) {
    size_t rounded = (bytes + 63) / 64 * 64;
    return aligned_alloc(64, rounded ? rounded : 64);
}

static inline long ck_min(long a, long b) { return a < b ? a : b; }
static inline long ck_max(long a, long b) { return a > b ? a : b; }

/* The path the dispatching loops run: the selected one, else the best this CPU has. */
static inline int ck_active_path(void) {
    int path = ck_selected_path();
    return path < 0 ? ck_best_path() : path;
}

/*
 * Splits k into equal blocks of at most `limit` (a multiple of `group`), each
 * rounded up to a multiple of `group` except possibly the last: a function of
 * k only, so every thread and every tile sees the same blocks.
 */
static inline long ck_block_depth(long k, long limit, long group) {
    long blocks = (k + limit - 1) / limit;
    long depth = (k + blocks - 1) / blocks;
    return (depth + group - 1) / group * group;
}

/* Float micro-kernels: an mr x nr tile of C from kc packed steps, of which
   the first `height` (1 to mr) rows are stored. */
typedef void (*ck_float_tile)(long kc, const float *a_packed, const float *b_packed,
                              float *c, long ldc, int add_to_c, long height);

void ck_float_tile_avx2(long kc, const float *a_packed, const float *b_packed, float *c, long ldc, int add_to_c,
                        long height);
void ck_float_tile_avx512(long kc, const float *a_packed, const float *b_packed, float *c, long ldc, int add_to_c,
                          long height);

/*
 * Integer micro-kernels: an mr x nr tile of Int32 sums over kc/group packed
 * groups, widened, shifted left by `shift` and stored or added into Int64 C,
 * its first `height` (1 to mr) rows only.
 * `column_offsets` (QUADS8 only) holds 128 * sum of the block's B column,
 * subtracted to undo A's +128 offset.
 * `largest`, when not NULL, is raised to the largest |Int32 sum| (minus its
 * column offset, for quads) of the tile: every one, since rows past `height`
 * and columns past the panel's width sum zero-padded codes to 0. ck_igemm asks
 * for it only when those sums are C itself (one block of depth, no shift, C = A B).
 */
typedef void (*ck_int_tile)(long groups, const void *a_packed, const void *b_packed, const int32_t *column_offsets,
                            int64_t *c, long ldc, int add_to_c, int shift, long height, uint32_t *largest);

void ck_pairs_tile_avx2(long groups, const void *a_packed, const void *b_packed, const int32_t *column_offsets,
                        int64_t *c, long ldc, int add_to_c, int shift, long height, uint32_t *largest);
void ck_pairs_tile_avx512(long groups, const void *a_packed, const void *b_packed, const int32_t *column_offsets,
                          int64_t *c, long ldc, int add_to_c, int shift, long height, uint32_t *largest);
void ck_quads_tile_avx512(long groups, const void *a_packed, const void *b_packed, const int32_t *column_offsets,
                          int64_t *c, long ldc, int add_to_c, int shift, long height, uint32_t *largest);

/*
 * target[p * target_stride + j] = source[j * source_stride + p] for j < 8 and
 * p < depth: eight stored rows become eight columns of a packed panel. Stores
 * go in increasing p, so with target_stride < 8 each p's first target_stride
 * values survive and the rest are overwritten (the last p's are not).
 */
void ck_pack_columns8_avx2(const float *source, long source_stride, long depth, float *target, long target_stride);

/*
 * Packs the first `depth` (a multiple of 64) int8-range codes of a contiguous
 * column as byte quads: words[q * word_stride] = codes 4q..4q+3 as bytes.
 * Returns the sum of the codes (for the quads' column offset).
 */
int32_t ck_pack_quads_column_avx512(const int16_t *column, long depth, uint32_t *words, long word_stride);

/* |value| as unsigned (|INT64_MIN| is 2^63). */
static inline uint64_t ck_magnitude64(int64_t value) {
    return value < 0 ? (uint64_t)0 - (uint64_t)value : (uint64_t)value;
}

/*
 * One narrowing of exact sums to codes (ck_requantize's contract, one element
 * at a time): the loop-invariant part, made once per tensor by ck_narrowing_make.
 */
typedef struct {
    int shift;
    int mode;
    int32_t min_code, max_code;
    int64_t exact_low, exact_high; /* a left shift is exact inside these, else saturates */
    uint64_t left, right;          /* the shift as a left and a right part, one of them 0 */
    uint64_t mask, half;
    uint64_t key;
} ck_narrowing;

static inline ck_narrowing ck_narrowing_make(int shift, int32_t min_code, int32_t max_code, int mode, uint64_t key) {
    ck_narrowing n;
    n.shift = shift;
    n.mode = mode;
    n.min_code = min_code;
    n.max_code = max_code;
    /* For a left shift by s, sum << s is in range exactly when sum lies in
       [ceil(min / 2^s), floor(max / 2^s)]; outside that, saturate unshifted. */
    n.exact_low = INT64_MIN;
    n.exact_high = INT64_MAX;
    if (shift < 0) {
        n.exact_high = (int64_t)max_code >> -shift;
        n.exact_low = -((-(int64_t)min_code) >> -shift);
    }
    n.left = shift < 0 ? -shift : 0;
    n.right = shift > 0 ? shift : 0;
    n.mask = shift > 0 ? ((uint64_t)1 << shift) - 1 : 0;
    /* No remainder can equal or exceed this when nothing is shifted out. */
    n.half = shift > 0 ? (uint64_t)1 << (shift - 1) : UINT64_MAX;
    n.key = key;
    return n;
}

/* SplitMix64's output function (StochasticBits.mix). */
static inline uint64_t ck_mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* The random bits of draw `index` under `key`: ck_mix of the key plus index + 1
   golden-ratio steps (wrapping), as StochasticBits and RandomStream define them. */
static inline uint64_t ck_draw_bits(uint64_t key, uint64_t index) {
    return ck_mix(key + 0x9E3779B97F4A7C15ull * (index + 1));
}

/* Per-tensor tallies of one narrowing, added into ck_narrowing_counts at the end. */
typedef struct {
    long saturations;
    long rounded_to_zero;
    uint64_t max_magnitude;
} ck_narrowing_tally;

/*
 * What a caller knows of a narrowing's shift when it compiles a loop: nothing,
 * that it is not negative, or that it is 0 (saturation only). The result is the
 * same; the loop leaves out the work that cannot matter.
 */
enum { CK_SHIFT_ANY = 0, CK_SHIFT_RIGHT = 1, CK_SHIFT_NONE = 2 };

/*
 * `sum` narrowed to a code: saturate(roundingShiftRight(sum, n.shift, mode)),
 * stochastic rounding with the bits of element `index`. `mode` and `shape` are
 * parameters (not read from n) so that callers instantiate one loop per constant.
 */
static inline __attribute__((always_inline)) int64_t ck_narrow(ck_narrowing n, int mode, int shape, int64_t sum,
                                                                uint64_t index, ck_narrowing_tally *tally) {
    /* Branch-free in the shift's sign, so that fused loops with several
       narrowings stay straight lines: a left shift leaves no remainder. */
    int64_t floor = shape == CK_SHIFT_NONE ? sum
                  : shape == CK_SHIFT_RIGHT ? sum >> n.right
                  : (int64_t)((uint64_t)sum << n.left) >> n.right;
    uint64_t remainder = shape == CK_SHIFT_NONE ? 0 : (uint64_t)sum & n.mask;
    int64_t shifted;
    switch (shape == CK_SHIFT_NONE ? CK_ROUND_TRUNCATE : mode) {
    case CK_ROUND_NEAREST_EVEN:
        shifted = floor + (remainder > n.half || (remainder == n.half && (floor & 1)));
        break;
    case CK_ROUND_NEAREST_AWAY:
        shifted = floor + (remainder > n.half || (remainder == n.half && sum >= 0));
        break;
    case CK_ROUND_STOCHASTIC: {
        uint64_t bits = ck_draw_bits(n.key, index);
        shifted = floor + (int64_t)((remainder + (bits & n.mask)) >> n.right);
        break;
    }
    default:
        shifted = floor;
    }
    int64_t code = shifted < n.min_code ? n.min_code : shifted > n.max_code ? n.max_code : shifted;
    int saturated = shifted < n.min_code || shifted > n.max_code;
    if (shape == CK_SHIFT_ANY) {
        if (sum < n.exact_low) { code = n.min_code; saturated = 1; }
        if (sum > n.exact_high) { code = n.max_code; saturated = 1; }
    }
    tally->saturations += saturated;
    tally->rounded_to_zero += !saturated && code == 0 && sum != 0;
    uint64_t magnitude = ck_magnitude64(sum);
    tally->max_magnitude = magnitude > tally->max_magnitude ? magnitude : tally->max_magnitude;
    return code;
}

/*
 * ck_narrow's arithmetic in 32-bit lanes, for sums known to fit: (sum << left)
 * must stay inside Int32 and the shift inside 0..31; deterministic modes only.
 * Loops built on it vectorise twice as wide as the 64-bit ones.
 */
typedef struct {
    int32_t saturations, rounded_to_zero;
    uint32_t max_magnitude;
} ck_tally32;

static inline __attribute__((always_inline)) int32_t ck_narrow32(int32_t sum, int left, int right, int32_t mask, int32_t half,
                                                              int32_t min_code, int32_t max_code, int mode,
                                                              ck_tally32 *tally) {
    /* (sum << left) is exact: the gate keeps |sum| << left below 2^31. */
    int32_t floor = (int32_t)((uint32_t)sum << left) >> right;
    int32_t remainder = sum & mask;
    int32_t shifted;
    switch (mode) {
    case CK_ROUND_NEAREST_EVEN: shifted = floor + (remainder > half || (remainder == half && (floor & 1))); break;
    case CK_ROUND_NEAREST_AWAY: shifted = floor + (remainder > half || (remainder == half && sum >= 0)); break;
    default: shifted = floor;
    }
    int32_t code = shifted < min_code ? min_code : shifted > max_code ? max_code : shifted;
    int32_t saturated = shifted < min_code || shifted > max_code;
    tally->saturations += saturated;
    tally->rounded_to_zero += !saturated && code == 0 && sum != 0;
    uint32_t magnitude = sum < 0 ? 0u - (uint32_t)sum : (uint32_t)sum;
    tally->max_magnitude = magnitude > tally->max_magnitude ? magnitude : tally->max_magnitude;
    return code;
}

/* The largest |code| of the codes low...high. */
static inline int64_t ck_range_magnitude(int32_t low, int32_t high) {
    int64_t a = low < 0 ? -(int64_t)low : low, b = high < 0 ? -(int64_t)high : high;
    return a > b ? a : b;
}

/* Mask and half of a right shift by `right` (0..31) for ck_narrow32. */
static inline int32_t ck_mask32(int right) { return (int32_t)(((uint32_t)1 << right) - 1); }
static inline int32_t ck_half32(int right) { return right > 0 ? (int32_t)((uint32_t)1 << (right - 1)) : INT32_MAX; }

/*
 * The momentum update narrowing on a product m = s * factor with |m| < 2^62 and
 * a right shift 0..62, deterministic modes: ck_narrow's arithmetic with the
 * floor taken as ((m + 2^62) >> right) - 2^(62 - right), a logical shift (AVX2
 * has no 64-bit arithmetic shift, and the vector loops use the same identity).
 * Adds to the counts; the caller tracks the largest |m|.
 */
static inline __attribute__((always_inline)) int32_t ck_narrow_product(int64_t m, int right, int32_t min_code,
                                                                        int32_t max_code, int mode, int32_t *saturations,
                                                                        int32_t *rounded_to_zero) {
    const int64_t bias = (int64_t)1 << 62;
    int64_t floor = (int64_t)((uint64_t)(m + bias) >> right) - (bias >> right);
    int64_t remainder = m & (int64_t)(((uint64_t)1 << right) - 1);
    int64_t half = right > 0 ? (int64_t)((uint64_t)1 << (right - 1)) : INT64_MAX;
    int64_t shifted;
    switch (mode) {
    case CK_ROUND_NEAREST_EVEN: shifted = floor + (remainder > half || (remainder == half && (floor & 1))); break;
    case CK_ROUND_NEAREST_AWAY: shifted = floor + (remainder > half || (remainder == half && m >= 0)); break;
    default: shifted = floor;
    }
    int32_t code = (int32_t)(shifted < min_code ? min_code : shifted > max_code ? max_code : shifted);
    int32_t saturated = shifted < min_code || shifted > max_code;
    *saturations += saturated;
    *rounded_to_zero += !saturated && code == 0 && m != 0;
    return code;
}

static inline void ck_narrowing_counts_add(ck_narrowing_counts *counts, ck_narrowing_tally tally) {
    counts->saturations += tally.saturations;
    counts->rounded_to_zero += tally.rounded_to_zero;
    if (tally.max_magnitude > counts->max_magnitude) counts->max_magnitude = tally.max_magnitude;
}

#if CK_X86
/*
 * One narrowing of eight Int32 sums in AVX2 lanes (ck_narrow32's arithmetic),
 * shared by the hand-written loops of MomentumX86.c and Requantize.c.
 */
typedef struct {
    __m128i left, right; /* shift counts */
    __m256i mask, half, min, max;
} narrowing32;

CK_TARGET_AVX2 static inline narrowing32 narrowing32_make(int shift, int32_t min_code, int32_t max_code) {
    /* Shifts beyond 31 only reach narrowings the caller does not use (the
       64-bit update pass, or no updates): clamped so that no C shift is undefined. */
    int left = shift < 0 ? (-shift > 31 ? 31 : -shift) : 0, right = shift > 0 ? (shift > 31 ? 31 : shift) : 0;
    narrowing32 n;
    n.left = _mm_cvtsi32_si128(left);
    n.right = _mm_cvtsi32_si128(right);
    n.mask = _mm256_set1_epi32(ck_mask32(right));
    n.half = _mm256_set1_epi32(ck_half32(right));
    n.min = _mm256_set1_epi32(min_code);
    n.max = _mm256_set1_epi32(max_code);
    return n;
}

/* |x| as unsigned (abs of INT32_MIN is 2^31 read unsigned). */
CK_TARGET_AVX2 static inline __m256i magnitude32(__m256i x) { return _mm256_abs_epi32(x); }

/*
 * Eight Int64 sums as Int32 lanes in the order 0 1 4 5 | 2 3 6 7 (one shuffle
 * of two loads): their low dwords, and their high dwords in the same lanes.
 */
typedef struct {
    __m256i low, high;
} sums8;

CK_TARGET_AVX2 static inline sums8 load_sums8(const int64_t *sums) {
    __m256 first = _mm256_castsi256_ps(_mm256_loadu_si256((const __m256i *)sums));
    __m256 second = _mm256_castsi256_ps(_mm256_loadu_si256((const __m256i *)(sums + 4)));
    sums8 s = {_mm256_castps_si256(_mm256_shuffle_ps(first, second, 0x88)),
               _mm256_castps_si256(_mm256_shuffle_ps(first, second, 0xDD))};
    return s;
}

/* Lanes whose sum fits in Int32: its high dword is the sign of its low dword. */
CK_TARGET_AVX2 static inline __m256i sums8_fit32(sums8 s) { return _mm256_cmpeq_epi32(s.high, _mm256_srai_epi32(s.low, 31)); }

/* Eight codes in load_sums8's lane order as Int16 in element order (with saturation; the codes fit). */
CK_TARGET_AVX2 static inline __m128i codes16_of_sums8(__m256i codes) {
    __m256i packed = _mm256_packs_epi32(codes, codes); /* pairs 01 45 01 45 | 23 67 23 67 */
    return _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(packed, _mm256_setr_epi32(0, 4, 1, 5, 0, 4, 1, 5)));
}

/*
 * The shift and rounding of one narrowing of eight sums (narrow32's
 * arithmetic before the clamp). `shape`: CK_SHIFT_NONE skips the shift and
 * rounding; CK_SHIFT_RIGHT skips the left shift.
 */
CK_TARGET_AVX2 static inline __attribute__((always_inline)) __m256i shift_round8(const narrowing32 *n, int mode, int shape,
                                                                                 __m256i sum) {
    if (shape == CK_SHIFT_NONE) return sum;
    __m256i floor = shape == CK_SHIFT_RIGHT ? _mm256_sra_epi32(sum, n->right)
                                            : _mm256_sra_epi32(_mm256_sll_epi32(sum, n->left), n->right);
    if (mode != CK_ROUND_NEAREST_EVEN && mode != CK_ROUND_NEAREST_AWAY) return floor;
    /* Up when the remainder is above half, or at half with an odd floor
       (nearest even) or a nonnegative sum (nearest away): both are
       "remainder > half - tie bit", and half - 1 does not wrap. */
    __m256i tie_bit = mode == CK_ROUND_NEAREST_EVEN ? _mm256_and_si256(floor, _mm256_set1_epi32(1))
                                                    : _mm256_srli_epi32(_mm256_cmpgt_epi32(sum, _mm256_set1_epi32(-1)), 31);
    __m256i remainder = _mm256_and_si256(sum, n->mask);
    return _mm256_sub_epi32(floor, _mm256_cmpgt_epi32(remainder, _mm256_sub_epi32(n->half, tie_bit))); /* -1 where rounding up */
}

/*
 * Per-lane tallies of one narrowing over some vectors (Int32 lanes): lanes
 * kept (not saturated) and lanes rounded to zero, added into totals by
 * lane_counts8_add.
 */
typedef struct {
    __m256i kept, vanished;
} lane_counts8;

CK_TARGET_AVX2 static inline void lane_counts8_add(const lane_counts8 *counted, long vectors, long *saturations,
                                                   long *rounded_to_zero) {
    *saturations += 8 * vectors - ck_horizontal_sum_epi32(counted->kept);
    *rounded_to_zero += ck_horizontal_sum_epi32(counted->vanished);
}

/*
 * The clamp of eight shifted values of one narrowing (narrow32's arithmetic
 * after the shift): codes returned, lanes kept and rounded to zero counted.
 * A lane is rounded to zero when its `input` is nonzero and its code is a kept
 * 0, that is when its shifted value is 0: every format holds 0, and a zero
 * input always shifts to 0. So those lanes are counted as zero shifted values
 * minus zero inputs; without a shift (CK_SHIFT_NONE) there are none.
 */
CK_TARGET_AVX2 static inline __attribute__((always_inline)) __m256i clamp8(const narrowing32 *n, int shape, __m256i shifted,
                                                                            __m256i input, lane_counts8 *counted) {
    const __m256i zero = _mm256_setzero_si256();
    __m256i code = _mm256_min_epi32(_mm256_max_epi32(shifted, n->min), n->max);
    counted->kept = _mm256_sub_epi32(counted->kept, _mm256_cmpeq_epi32(code, shifted));
    if (shape != CK_SHIFT_NONE) {
        counted->vanished = _mm256_add_epi32(_mm256_sub_epi32(counted->vanished, _mm256_cmpeq_epi32(shifted, zero)),
                                             _mm256_cmpeq_epi32(input, zero));
    }
    return code;
}

#endif

/*
 * The momentum step in 32-bit lanes with AVX2 intrinsics (MomentumX86.c), for
 * layers that momentum_fits_32_bits (Momentum.c) admits; run on the AVX2 and
 * AVX-512 paths.
 */
void ck_momentum32_x86(const ck_momentum_layer *layer, ck_narrowing_counts counts[5], long *unmoved);

double ck_peak_loop_avx2(int kind, long iterations);
double ck_peak_loop_avx512(int kind, long iterations);

#endif
