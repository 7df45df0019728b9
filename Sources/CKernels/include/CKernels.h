#ifndef CKERNELS_H
#define CKERNELS_H

/*
 * Matrix-product kernels for pepita-edge, one portable C version and
 * per-function target-attribute versions (AVX2+FMA, AVX-512 with VNNI) chosen
 * at run time: one binary runs on every x86-64 CPU (and builds elsewhere with
 * the portable path only), never executing an instruction the CPU lacks.
 *
 * Views: element (row, column) of a view lives at
 * base[row * row_stride + column * column_stride], so a matrix and its
 * transpose are the same storage (the three products training needs, X W^T,
 * dY^T X and dY W, are one kernel). C is dense row-major with leading
 * dimension ldc.
 *
 * Every call computes the block C[row_begin..<row_end, column_begin..<column_end]
 * and nothing else, so callers may run disjoint blocks on different threads.
 * row_begin must be a multiple of the path's row block and column_begin of its
 * panel width (ck_*_row_block / ck_*_panel_width): then each element of C is
 * the same sequence of operations whatever the split, which makes float
 * results independent of the thread count. Integer results are exact sums,
 * independent of everything.
 */

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Instruction-set paths, in increasing order of capability. */
enum {
    CK_PATH_SCALAR = 0, /* portable C, whatever the compiler's baseline */
    CK_PATH_AVX2 = 1,   /* x86-64 AVX2 + FMA (e.g. AMD Zen 2/3, Intel Haswell+) */
    CK_PATH_AVX512 = 2  /* AVX-512 F/BW/DQ/VL/VNNI (e.g. AMD Zen 4/5, Intel Ice Lake+) */
};

/*
 * The path the kernels' callers use, shared by all threads: -1 until someone
 * selects one (the Swift layer then selects PEPITA_KERNELS or the best path).
 */
int ck_selected_path(void);
void ck_select_path(int path);
/*
 * Asks the C library to keep freed memory for reuse (glibc: no mmap for large
 * blocks, no trimming). A training step frees and reallocates the same
 * few-megabyte buffers; mapped afresh, each page costs a page fault and a
 * zeroing, about a tenth of an epoch. Does nothing on other C libraries.
 */
void ck_keep_freed_memory(void);

/* getenv, for callers whose language layer does not import the C library. */
const char *ck_environment_value(const char *name);

/* 1 when this CPU (and OS) can run `path`, else 0. */
int ck_path_supported(int path);
/* The most capable path this CPU can run. */
int ck_best_path(void);

typedef struct {
    const float *base;
    long rows, columns, row_stride, column_stride;
} ck_float_view;

typedef struct {
    const int16_t *base;
    long rows, columns, row_stride, column_stride;
} ck_int16_view;

/*
 * Calls body(context, part) once for each part in 0..<parts, on the calling
 * thread and on persistent helper threads (which spin briefly between calls,
 * then sleep), and returns when all have finished. Returns 0, having called
 * nothing, when another call is in progress or no helper could be started:
 * the caller then runs the parts some other way.
 */
typedef void (*ck_part_body)(void *context, long part);
int ck_run_parts(long parts, ck_part_body body, void *context);

/* Register-block shape of the float kernel of `path`. */
long ck_float_row_block(int path);
long ck_float_panel_width(int path);

/*
 * C = A B (accumulate == 0) or C += A B on the block given; A is m x k, B k x n.
 * k is cut into equal blocks (a function of k alone) of at most a few hundred;
 * within a block each element of C is one multiply-add chain in p order
 * (fused on the AVX paths), and the blocks' sums are added to C in order.
 */
void ck_sgemm(int path, ck_float_view a, ck_float_view b, float *c, long ldc,
              long row_begin, long row_end, long column_begin, long column_end, int accumulate);

/*
 * B (k x n) packed once for several products (ck_sgemm_packed) as ck_sgemm
 * packs it for `path`: every k block's column panels, ck_float_packed_floats
 * floats in all. ck_float_pack_panels packs the panels of columns
 * [column_begin, column_end) (column_begin a multiple of the path's panel
 * width, column_end one too or n), so that parts of B may be packed on
 * different threads. ck_sgemm_packed's column range must start on a panel
 * too (another start reads the wrong panel).
 */
long ck_float_packed_floats(int path, long k, long n);
void ck_float_pack_panels(int path, ck_float_view b, long column_begin, long column_end, float *packed);

/* ck_sgemm with B given packed (by ck_float_pack_panels for the same path, k and n): the same floats. */
void ck_sgemm_packed(int path, ck_float_view a, const float *packed, long n, float *c, long ldc,
                     long row_begin, long row_end, long column_begin, long column_end, int accumulate);

/* The smallest and largest code in a view (0, 0 when empty). */
void ck_int16_range(ck_int16_view view, int32_t *minimum, int32_t *maximum);

/*
 * How the integer kernel of `path` sums k products of operands whose codes lie
 * in the given ranges (see ck_igemm_method_name).
 */
enum {
    CK_INT_EXACT64 = 0,     /* every product added into Int64 (portable path) */
    CK_INT_PAIRS16 = 1,     /* int16 pairs summed in Int32 runs (vpmaddwd / vpdpwssd) */
    CK_INT_SPLIT16 = 2,     /* B split in a low byte and a high byte, each as PAIRS16 */
    CK_INT_QUADS8 = 3       /* int8 quads summed in Int32 (vpdpbusd), A offset by 128 */
};
int ck_igemm_method(int path, long k, int32_t a_min, int32_t a_max, int32_t b_min, int32_t b_max);
const char *ck_igemm_method_name(int path, int method);
long ck_int_row_block(int path);
long ck_int_panel_width(int path);

/*
 * C = A B or C += A B of Int16 codes into exact Int64 sums (C wraps modulo 2^64
 * only if the caller lets C + A B leave Int64). a_min..b_max are the operands'
 * code ranges (ck_int16_range); they choose the method and the Int32 run
 * lengths, which are kept short enough that no Int32 partial sum can overflow.
 * An operand whose range is 0..0 makes every sum 0: C is then zeroed (or, for
 * C += A B, left alone) on every path without a product.
 * `largest`, when not NULL (the caller sets it to 0 first), is raised
 * (atomically: the parts of one product may share it) to the largest |C|
 * this call wrote, when the tiles can take it as they store (the AVX2 and
 * AVX-512 tiles, one block of depth, not split, C = A B; or zeros); otherwise,
 * if the call writes anything, it is set to UINT64_MAX, "not taken" (the caller scans C).
 */
void ck_igemm(int path, ck_int16_view a, ck_int16_view b,
              int32_t a_min, int32_t a_max, int32_t b_min, int32_t b_max,
              int64_t *c, long ldc, long row_begin, long row_end, long column_begin, long column_end,
              int accumulate, uint64_t *largest);

/*
 * Peak loops: `iterations` rounds of 12 independent chains of the widest
 * multiply-add `path` has for `kind` (0: fp32 FMA, 1: int8 dot product,
 * 2: int16 dot product). Returns a value depending on every chain so the work
 * cannot be removed; ck_peak_operations_per_iteration gives the multiply-adds
 * one iteration performs.
 */
enum { CK_PEAK_FP32 = 0, CK_PEAK_INT8 = 1, CK_PEAK_INT16 = 2 };
double ck_peak_loop(int path, int kind, long iterations);
long ck_peak_operations_per_iteration(int path, int kind);
const char *ck_peak_instruction(int path, int kind);

/*
 * Narrowing of exact sums to codes, the loop every integer layer ends with
 * (TensorQuantization.requantize has the contract): code =
 * saturate(roundingShiftRight(sum, shift, mode)), a negative shift being an
 * exact left shift that saturates instead of overflowing. Stochastic rounding
 * adds the low `shift` bits of SplitMix64(key + gamma * (first_index + i + 1)).
 * The loop is compiled for each path and runs on the selected one (else the
 * best this CPU has); the result is the same integer arithmetic on every path.
 */
enum { CK_ROUND_TRUNCATE = 0, CK_ROUND_NEAREST_EVEN = 1, CK_ROUND_NEAREST_AWAY = 2, CK_ROUND_STOCHASTIC = 3 };
typedef struct {
    long saturations;
    long rounded_to_zero;
    uint64_t max_magnitude;
} ck_narrowing_counts;
void ck_requantize(const int64_t *sums, long count, int shift, int32_t min_code, int32_t max_code, int mode,
                   uint64_t key, uint64_t first_index, int16_t *codes, ck_narrowing_counts *counts);

/*
 * In place, on the selected path: values[i] = max(values[i], 0) (ReLU), then,
 * when keep is not NULL, values[i] * (keep[i] > 0 ? mantissa : 0) (the dropout
 * mask and its scale) in wrapping Int64 arithmetic. Returns the largest value
 * after ReLU that is kept (every one without keep; 0 for none), for the caller
 * to check that no product with the mantissa could leave Int64.
 */
int64_t ck_relu_keep(int64_t *values, long count, const float *keep, int64_t mantissa);

/*
 * In place, on the selected path: values[i] = (codes[i] > 0 ? values[i] : 0) *
 * mantissa in wrapping Int64 arithmetic (ReLU's derivative from a layer's
 * output codes, then a scale). Returns the largest |value| before the
 * multiply, for the caller to check that no product could leave Int64.
 */
uint64_t ck_gate_by_codes(int64_t *values, const int16_t *codes, long count, int64_t mantissa);

/*
 * On the selected path: out[i] = a[i] + b[i] saturated to [min_code,
 * max_code] (FixedPoint.saturate of the exact sum); returns how many sums
 * saturated. `out` must not overlap `a` or `b` (the loop then vectorises).
 */
long ck_saturating_add16(const int16_t *a, const int16_t *b, int16_t *out, long count, int32_t min_code, int32_t max_code);

/* The largest |sums[i]| for i < count (0 when count is 0), on the selected path. */
uint64_t ck_max_magnitude(const int64_t *sums, long count);

/*
 * On the selected path, what an accumulator of `bits` bits (16...63) holds for
 * each exact sum, in place: a sum outside [-2^(bits-1), 2^(bits-1) - 1] is
 * clamped to it (`wrap` 0) or keeps its low `bits` bits as two's complement
 * (`wrap` 1). Returns how many sums were outside; `largest` receives the
 * largest |sums[i]| afterwards (for a dynamic format).
 */
long ck_apply_accumulator(int64_t *sums, long count, int bits, int wrap, uint64_t *largest);

/*
 * Float values to codes (FixedPoint.quantize has the contract, element by
 * element): scaled = value * 2^fractional_bits in double, rounded by `mode`
 * (stochastic: up when 53 random bits as a fraction of one fall below the
 * fraction), saturated; NaN gives code 0 and counts as saturated.
 * `max_magnitude_float` receives the largest |value| (NaN ignored).
 */
void ck_quantize(const float *values, long count, int fractional_bits, int32_t min_code, int32_t max_code, int mode,
                 uint64_t key, uint64_t first_index, int16_t *codes, ck_narrowing_counts *counts,
                 float *max_magnitude_float);

/*
 * The fixed-point momentum step of one layer (FixedPointMomentum has the
 * contract), one pass over its elements. Per element i, with the five
 * narrowings of `narrowings` (each ck_requantize's arithmetic on one element,
 * stochastic bits of index first_index + i under its own key):
 *   0. v = narrow(velocity[i] * momentum_mantissa)             (velocity format)
 *   when update_sums is not NULL (a learning rate above 0):
 *   1. u = narrow(update_sums[i] * factor_mantissa)            (updates format;
 *      stored in update_codes[i] when that is not NULL)
 *   2. u' = narrow(u)                                          (velocity format)
 *   3. v = narrow(v + u')                                      (shift 0: saturation)
 *   4. w = narrow((weights[i] << weight_align) - (v << velocity_align))
 * then velocity[i] = v, weights[i] = w. counts[n] receives narrowing n's tallies
 * (1 to 3 untouched without update sums); *unmoved is increased by the elements
 * with v != 0 and an unchanged weight code. The products must fit in Int64.
 * Layers whose values fit (update sums and factor inside Int32, 16-bit codes,
 * small momentum mantissa, deterministic rounding) run a 32-bit-lane loop with
 * the same results.
 */
typedef struct {
    int shift;
    int32_t min_code;
    int32_t max_code;
    int mode;
    uint64_t key;
} ck_narrowing_spec;
typedef struct {
    long count;
    uint64_t first_index; /* element i draws the stochastic bits of index first_index + i */
    int16_t *weights;
    int16_t *velocity;
    const int64_t *update_sums;
    uint64_t update_sums_bound; /* no |update_sums[i]| exceeds it (UINT64_MAX: unknown); a smaller
                                   value than the truth gives wrong codes, never a crash */
    int16_t *update_codes;
    int64_t momentum_mantissa;
    int64_t factor_mantissa;
    int weight_align;
    int velocity_align;
    ck_narrowing_spec narrowings[5];
} ck_momentum_layer;
void ck_momentum_update(const ck_momentum_layer *layer, ck_narrowing_counts counts[5], long *unmoved);

/*
 * Float32 momentum SGD on the selected path, for i < count:
 * velocity[i] = momentum * velocity[i] + scale * update[i] (two rounded
 * products, then a rounded sum: never a fused multiply-add), then
 * weights[i] -= velocity[i].
 */
void ck_float_momentum(float *weights, float *velocity, const float *update, long count, float momentum, float scale);

/*
 * Dropout draws on the selected path, for i < count: bits = mix64(base +
 * (first_index + i + 1) * 0x9E3779B97F4A7C15) with SplitMix64's finaliser
 * mix64 (wrapping arithmetic), then values[i] = (bits >> 40) < limit ? value : 0.
 */
void ck_fill_bernoulli(float *values, long count, uint64_t base, uint64_t first_index, uint64_t limit, float value);

/*
 * 2x2 max pooling with stride 2 of `planes` planes of height x width stored
 * one after the other (an odd last row or column is dropped), on the selected
 * path: output[(p * (height / 2) + oy) * (width / 2) + ox] is the largest of
 * the block whose top left is input[(p * height + 2 oy) * width + 2 ox], and
 * winners[] at the same place its index in `input`, the first largest in
 * row-major order (strict >: ties and NaN keep the earlier value). Indices
 * must fit int32_t.
 */
void ck_max_pool_float(const float *input, long planes, long height, long width, float *output, int32_t *winners);
void ck_max_pool_int16(const int16_t *input, long planes, long height, long width, int16_t *output,
                       int32_t *winners);

#ifdef __cplusplus
}
#endif

#endif
