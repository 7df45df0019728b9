/*
 * Exact integer matrix product driver (Int16 codes in, Int64 sums out).
 *
 * Exactness: a tile sums a run of products in Int32 lanes and widens the run's
 * sum into Int64. Int32 addition here wraps modulo 2^32 (vpaddd, vpdpwssd and
 * vpdpbusd all wrap; none saturates), so a run's Int32 sum is exact whenever the
 * true sum of the run fits in Int32, whatever happens to the partial sums.
 * Every method below keeps `run length * largest |product| <= INT32_MAX`:
 *
 *   QUADS8  both operands in [-128, 127]: A + 128 is an unsigned byte, B a
 *           signed byte; vpdpbusd sums 4 byte products into Int32, and
 *           128 * (sum of the block's B column) is subtracted before widening.
 *           |a * b| <= 2^14, so runs of up to 2^17 products are exact.
 *   PAIRS16 vpdpwssd / vpmaddwd on Int16 pairs, runs of INT32_MAX / (max|a| max|b|)
 *           products (rounded down to even), used when that is at least 64.
 *   SPLIT16 otherwise (codes near full int16 range): B = 256 * high + low with
 *           low in [0, 255] and high in [-128, 127]; two PAIRS16 passes, the
 *           high one shifted left 8 bits on widening. |a * low| < 2^23, so runs
 *           of 256 products are exact.
 *   EXACT64 the portable path: every product added straight into Int64.
 *
 * Never vpmaddubsw: its Int16 pair sums saturate.
 */
#include "Internal.h"

enum { pairs_depth_limit = 512, quads_depth_limit = 1024, shortest_pairs_run = 64 };

long ck_int_row_block(int path) {
    switch (path) {
    case CK_PATH_AVX512: return 8;
    case CK_PATH_AVX2: return 6;
    default: return 4;
    }
}

long ck_int_panel_width(int path) {
    switch (path) {
    case CK_PATH_AVX512: return 32;
    default: return 16;
    }
}

void ck_int16_range(ck_int16_view view, int32_t *minimum, int32_t *maximum) {
    int32_t low = 0, high = 0;
    if (view.rows > 0 && view.columns > 0) low = high = view.base[0];
    for (long i = 0; i < view.rows; i++) {
        const int16_t *row = view.base + i * view.row_stride;
        if (view.column_stride == 1) {
            int16_t row_low = row[0], row_high = row[0];
            for (long j = 0; j < view.columns; j++) {
                row_low = row[j] < row_low ? row[j] : row_low;
                row_high = row[j] > row_high ? row[j] : row_high;
            }
            low = row_low < low ? row_low : low;
            high = row_high > high ? row_high : high;
        } else {
            for (long j = 0; j < view.columns; j++) {
                int32_t value = row[j * view.column_stride];
                low = value < low ? value : low;
                high = value > high ? value : high;
            }
        }
    }
    *minimum = low;
    *maximum = high;
}

static int64_t magnitude(int32_t low, int32_t high) {
    int64_t a = low < 0 ? -(int64_t)low : low, b = high < 0 ? -(int64_t)high : high;
    return a > b ? a : b;
}

int ck_igemm_method(int path, int32_t a_min, int32_t a_max, int32_t b_min, int32_t b_max) {
    if (path == CK_PATH_SCALAR || !ck_path_supported(path)) return CK_INT_EXACT64;
    if (path == CK_PATH_AVX512 && a_min >= -128 && a_max <= 127 && b_min >= -128 && b_max <= 127)
        return CK_INT_QUADS8;
    int64_t bound = magnitude(a_min, a_max) * magnitude(b_min, b_max);
    if (bound == 0 || INT32_MAX / bound >= shortest_pairs_run) return CK_INT_PAIRS16;
    return CK_INT_SPLIT16;
}

const char *ck_igemm_method_name(int path, int method) {
    switch (method) {
    case CK_INT_QUADS8: return "vpdpbusd";
    case CK_INT_PAIRS16: return path == CK_PATH_AVX512 ? "vpdpwssd" : "vpmaddwd";
    case CK_INT_SPLIT16: return path == CK_PATH_AVX512 ? "vpdpwssd split" : "vpmaddwd split";
    default: return "int64";
    }
}

/* The portable method: Int64 sums, added with wrap-around (unsigned) arithmetic. */
static void igemm_exact64(ck_int16_view a, ck_int16_view b, int64_t *c, long ldc,
                          long row_begin, long row_end, long column_begin, long column_end, int accumulate) {
    long width = column_end - column_begin;
    for (long i = row_begin; i < row_end; i++) {
        uint64_t *target = (uint64_t *)(c + i * ldc + column_begin);
        if (!accumulate) memset(target, 0, sizeof(int64_t) * width);
        for (long p = 0; p < a.columns; p++) {
            int64_t x = a.base[i * a.row_stride + p * a.column_stride];
            if (x == 0) continue;
            const int16_t *source = b.base + p * b.row_stride + column_begin * b.column_stride;
            if (b.column_stride == 1) {
                for (long j = 0; j < width; j++) target[j] += (uint64_t)(x * source[j]);
            } else {
                for (long j = 0; j < width; j++) target[j] += (uint64_t)(x * source[j * b.column_stride]);
            }
        }
    }
}

/* Which part of B a pass packs: all of it, its low byte (0..255) or its high byte. */
enum { part_whole = 0, part_low = 1, part_high = 2 };

static inline int32_t b_part(int16_t value, int part) {
    if (part == part_low) return value & 0xff;
    if (part == part_high) return value >> 8; /* arithmetic: value = 256 * high + low */
    return value;
}

/* a_packed[block][q][r][g] = A[row0 + block*mr + r, p0 + q*group + g] (Int16, or +128 as a byte for quads). */
static void pack_a(ck_int16_view a, long row0, long rows, long p0, long depth, long mr, int group, void *a_packed) {
    long groups = (depth + group - 1) / group;
    for (long block = 0; block * mr < rows; block++) {
        long height = ck_min(mr, rows - block * mr);
        for (long r = 0; r < mr; r++) {
            const int16_t *source = a.base + (row0 + block * mr + ck_min(r, height - 1)) * a.row_stride
                + p0 * a.column_stride;
            for (long q = 0; q < groups; q++) {
                for (int g = 0; g < group; g++) {
                    long p = q * group + g;
                    int32_t value = (r < height && p < depth) ? source[p * a.column_stride] : 0;
                    long index = ((block * groups + q) * mr + r) * group + g;
                    if (group == 4) ((uint8_t *)a_packed)[index] = (uint8_t)(value + 128);
                    else ((int16_t *)a_packed)[index] = (int16_t)value;
                }
            }
        }
    }
}

/* b_packed[q][j][g] = part of B[p0 + q*group + g, column0 + j]; for quads also 128 * column sums. */
static void pack_b(ck_int16_view b, long p0, long depth, long column0, long width, long nr, int group, int part,
                   void *b_packed, int32_t *column_offsets) {
    long groups = (depth + group - 1) / group;
    for (long j = 0; j < nr; j++) {
        const int16_t *source = b.base + (column0 + ck_min(j, width - 1)) * b.column_stride + p0 * b.row_stride;
        int32_t column_sum = 0;
        for (long q = 0; q < groups; q++) {
            for (int g = 0; g < group; g++) {
                long p = q * group + g;
                int32_t value = (j < width && p < depth) ? b_part(source[p * b.row_stride], part) : 0;
                long index = (q * nr + j) * group + g;
                if (group == 4) ((int8_t *)b_packed)[index] = (int8_t)value;
                else ((int16_t *)b_packed)[index] = (int16_t)value;
                column_sum += value;
            }
        }
        if (column_offsets) column_offsets[j] = 128 * column_sum;
    }
}

void ck_igemm(int path, ck_int16_view a, ck_int16_view b,
              int32_t a_min, int32_t a_max, int32_t b_min, int32_t b_max,
              int64_t *c, long ldc, long row_begin, long row_end, long column_begin, long column_end,
              int accumulate) {
    long k = a.columns, rows = row_end - row_begin;
    if (rows <= 0 || column_end <= column_begin) return;
    int method = ck_igemm_method(path, a_min, a_max, b_min, b_max);
    if (method == CK_INT_EXACT64 || k == 0) {
        igemm_exact64(a, b, c, ldc, row_begin, row_end, column_begin, column_end, accumulate);
        return;
    }
#if CK_X86
    long mr = ck_int_row_block(path), nr = ck_int_panel_width(path);
    int group = method == CK_INT_QUADS8 ? 4 : 2;
    int passes = method == CK_INT_SPLIT16 ? 2 : 1;
    ck_int_tile tile = method == CK_INT_QUADS8 ? ck_quads_tile_avx512
        : path == CK_PATH_AVX512 ? ck_pairs_tile_avx512 : ck_pairs_tile_avx2;
    long limit = method == CK_INT_QUADS8 ? quads_depth_limit : pairs_depth_limit;
    if (method != CK_INT_QUADS8) {
        int64_t b_bound = method == CK_INT_SPLIT16 ? 255 : magnitude(b_min, b_max);
        int64_t bound = magnitude(a_min, a_max) * b_bound;
        long run = bound == 0 ? limit : (long)(INT32_MAX / bound) / 2 * 2;
        limit = ck_min(limit, run);
    }
    long block_depth = ck_block_depth(k, limit, group);
    if (block_depth > limit) block_depth = limit; /* limit is a multiple of group, so blocks stay exact */
    long groups_max = (block_depth + group - 1) / group;
    long row_blocks = (rows + mr - 1) / mr;
    size_t element = group == 4 ? 1 : 2;
    void *a_packed = ck_allocate(element * group * groups_max * mr * row_blocks);
    void *b_packed[2] = { ck_allocate(element * group * groups_max * nr), ck_allocate(element * group * groups_max * nr) };
    int32_t column_offsets[32];
    int64_t edge[8 * 32];
    for (long p0 = 0; p0 < k; p0 += block_depth) {
        long depth = ck_min(block_depth, k - p0), groups = (depth + group - 1) / group;
        pack_a(a, row_begin, rows, p0, depth, mr, group, a_packed);
        for (long column0 = column_begin; column0 < column_end; column0 += nr) {
            long width = ck_min(nr, column_end - column0);
            for (int pass = 0; pass < passes; pass++) {
                int part = passes == 1 ? part_whole : pass == 0 ? part_low : part_high;
                pack_b(b, p0, depth, column0, width, nr, group, part, b_packed[pass],
                       method == CK_INT_QUADS8 ? column_offsets : NULL);
            }
            for (long block = 0; block < row_blocks; block++) {
                long i = row_begin + block * mr, height = ck_min(mr, row_end - i);
                int64_t *c_tile = c + i * ldc + column0;
                const char *a_block = (const char *)a_packed + element * group * groups * mr * block;
                int full = height == mr && width == nr;
                for (int pass = 0; pass < passes; pass++) {
                    int add = accumulate || p0 > 0 || pass > 0;
                    int shift = pass == 1 ? 8 : 0;
                    const int32_t *offsets = method == CK_INT_QUADS8 ? column_offsets : NULL;
                    if (full) {
                        tile(groups, a_block, b_packed[pass], offsets, c_tile, ldc, add, shift);
                        continue;
                    }
                    tile(groups, a_block, b_packed[pass], offsets, edge, nr, 0, shift);
                    for (long r = 0; r < height; r++)
                        for (long j = 0; j < width; j++) {
                            uint64_t value = (uint64_t)edge[r * nr + j];
                            c_tile[r * ldc + j] = (int64_t)(add ? (uint64_t)c_tile[r * ldc + j] + value : value);
                        }
                }
            }
        }
    }
    free(a_packed);
    free(b_packed[0]);
    free(b_packed[1]);
#endif
}
