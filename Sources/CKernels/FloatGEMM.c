/*
 * Float32 matrix product driver: packs A (mr-row blocks) and B (nr-column
 * panels) for one k block at a time and calls the path's register tile.
 * Loop order per k block: pack all of this call's A rows once, then for each
 * B panel (kept in L1) run every row block over it.
 */
#include "Internal.h"

/* k block limit: a 384 x 32 float panel is 48 KB, a 256 x 32 one fits Zen's L1. */
static const long float_depth_limit = 256;

/* Portable tile: 4 rows x 16 columns, plain multiply then add. */
enum { scalar_mr = 4, scalar_nr = 16 };
static void ck_float_tile_scalar(long kc, const float *a_packed, const float *b_packed,
                                 float *c, long ldc, int add_to_c, long height) {
    float sums[scalar_mr][scalar_nr];
    memset(sums, 0, sizeof sums);
    for (long p = 0; p < kc; p++) {
        const float *b_row = b_packed + p * scalar_nr;
        for (int r = 0; r < scalar_mr; r++) {
            float x = a_packed[p * scalar_mr + r];
            for (int j = 0; j < scalar_nr; j++) sums[r][j] += x * b_row[j];
        }
    }
    for (int r = 0; r < height; r++)
        for (int j = 0; j < scalar_nr; j++)
            c[r * ldc + j] = add_to_c ? c[r * ldc + j] + sums[r][j] : sums[r][j];
}

long ck_float_row_block(int path) {
    switch (path) {
    case CK_PATH_AVX512: return 8;
    case CK_PATH_AVX2: return 6;
    default: return scalar_mr;
    }
}

long ck_float_panel_width(int path) {
    switch (path) {
    case CK_PATH_AVX512: return 32;
    case CK_PATH_AVX2: return 16;
    default: return scalar_nr;
    }
}

static ck_float_tile float_tile(int path) {
#if CK_X86
    if (path == CK_PATH_AVX512) return ck_float_tile_avx512;
    if (path == CK_PATH_AVX2) return ck_float_tile_avx2;
#endif
    (void)path;
    return ck_float_tile_scalar;
}

/*
 * a_packed[block][p][r] = A[row0 + block*mr + r, p0 + p], zero past `rows`.
 * Writes up to 8 - mr floats past the last block's end (a_packed has 8 of padding).
 */
static void pack_a(int path, ck_float_view a, long row0, long rows, long p0, long depth, long mr, float *a_packed) {
    for (long block = 0; block * mr < rows; block++) {
        float *target = a_packed + block * mr * depth;
        long height = ck_min(mr, rows - block * mr);
#if CK_X86
        /* A read as stored (X, dY), mr <= 8: eight rows transposed in registers and
           stored mr floats apart in increasing order, so each store's values of
           rows past mr are overwritten by the next one (the last one's land on the
           next block, packed after this one, or in the padding). Reads rows past
           the block, never past A. */
        long first_row = row0 + block * mr;
        if (a.column_stride == 1 && mr <= 8 && height == mr && first_row + 8 <= a.rows && path != CK_PATH_SCALAR) {
            ck_pack_columns8_avx2(a.base + first_row * a.row_stride + p0, a.row_stride, depth, target, mr);
            continue;
        }
#endif
        if (a.row_stride == 1) {
            /* A read transposed (dY^T): the mr values of one p are adjacent in memory. */
            const float *source = a.base + row0 + block * mr + p0 * a.column_stride;
            if (height == mr && (mr == 4 || mr == 6 || mr == 8)) {
                /* The paths' row blocks copy with a constant size: inlined moves, not a call per p. */
                for (long p = 0; p < depth; p++) {
                    const float *line = source + p * a.column_stride;
                    if (mr == 8) memcpy(target + p * 8, line, sizeof(float) * 8);
                    else if (mr == 6) memcpy(target + p * 6, line, sizeof(float) * 6);
                    else memcpy(target + p * 4, line, sizeof(float) * 4);
                }
                continue;
            }
            for (long p = 0; p < depth; p++) {
                memcpy(target + p * mr, source + p * a.column_stride, sizeof(float) * height);
                for (long r = height; r < mr; r++) target[p * mr + r] = 0;
            }
            continue;
        }
        for (long r = 0; r < mr; r++) {
            if (r >= height) {
                for (long p = 0; p < depth; p++) target[p * mr + r] = 0;
                continue;
            }
            const float *source = a.base + (row0 + block * mr + r) * a.row_stride + p0 * a.column_stride;
            for (long p = 0; p < depth; p++) target[p * mr + r] = source[p * a.column_stride];
        }
    }
}

/* b_packed[p][j] = B[p0 + p, column0 + j], zero past `width`. */
static void pack_b(int path, ck_float_view b, long p0, long depth, long column0, long width, long nr, float *b_packed) {
    if (width < nr) memset(b_packed, 0, sizeof(float) * depth * nr);
    if (b.column_stride == 1) {
        for (long p = 0; p < depth; p++) {
            float *target = b_packed + p * nr;
            const float *source = b.base + (p0 + p) * b.row_stride + column0;
            /* Whole panels (the paths' widths) copy with a constant size: inlined moves, not a call per row. */
            if (width == 16) memcpy(target, source, sizeof(float) * 16);
            else if (width == 32) memcpy(target, source, sizeof(float) * 32);
            else memcpy(target, source, sizeof(float) * width);
        }
        return;
    }
    long j = 0;
#if CK_X86
    /* B read transposed (W^T): 8 x 8 blocks transposed in registers. */
    if (b.row_stride == 1 && path != CK_PATH_SCALAR)
        for (; j + 8 <= width; j += 8)
            ck_pack_columns8_avx2(b.base + (column0 + j) * b.column_stride + p0, b.column_stride, depth, b_packed + j, nr);
#endif
    for (; j < width; j++) {
        const float *source = b.base + (column0 + j) * b.column_stride + p0 * b.row_stride;
        for (long p = 0; p < depth; p++) b_packed[p * nr + j] = source[p * b.row_stride];
    }
}

/* Where pack_b's panel for columns [column0, column0 + nr) of the k block from p0 lies in a packed B. */
static const float *prepacked_panel(const float *packed, long n, long nr, long p0, long depth, long column0) {
    long padded = (n + nr - 1) / nr * nr;
    return packed + p0 * padded + column0 / nr * depth * nr;
}

long ck_float_packed_floats(int path, long k, long n) {
    long nr = ck_float_panel_width(path);
    return k * ((n + nr - 1) / nr * nr);
}

void ck_float_pack_panels(int path, ck_float_view b, long column_begin, long column_end, float *packed) {
    long k = b.rows, n = b.columns, nr = ck_float_panel_width(path);
    if (k == 0) return;
    long block_depth = ck_block_depth(k, float_depth_limit, 1);
    for (long p0 = 0; p0 < k; p0 += block_depth) {
        long depth = ck_min(block_depth, k - p0);
        for (long column0 = column_begin; column0 < column_end; column0 += nr)
            pack_b(path, b, p0, depth, column0, ck_min(nr, column_end - column0), nr,
                   (float *)prepacked_panel(packed, n, nr, p0, depth, column0));
    }
}

/* ck_sgemm and ck_sgemm_packed: B's panels packed here from `b`, or (b NULL) taken from `prepacked`. */
static void sgemm(int path, ck_float_view a, const ck_float_view *b, const float *prepacked, long n, float *c, long ldc,
                  long row_begin, long row_end, long column_begin, long column_end, int accumulate) {
    long k = a.columns, rows = row_end - row_begin;
    if (rows <= 0 || column_end <= column_begin) return;
    if (k == 0) {
        if (!accumulate)
            for (long i = row_begin; i < row_end; i++)
                memset(c + i * ldc + column_begin, 0, sizeof(float) * (column_end - column_begin));
        return;
    }
    long mr = ck_float_row_block(path), nr = ck_float_panel_width(path);
    ck_float_tile tile = float_tile(path);
    long block_depth = ck_block_depth(k, float_depth_limit, 1);
    long row_blocks = (rows + mr - 1) / mr;
    float *a_packed = ck_allocate(sizeof(float) * (row_blocks * mr * block_depth + 8));
    float *b_packing = b ? ck_allocate(sizeof(float) * nr * block_depth) : NULL;
    float edge[8 * 32];
    for (long p0 = 0; p0 < k; p0 += block_depth) {
        long depth = ck_min(block_depth, k - p0);
        int add_to_c = accumulate || p0 > 0;
        pack_a(path, a, row_begin, rows, p0, depth, mr, a_packed);
        for (long column0 = column_begin; column0 < column_end; column0 += nr) {
            long width = ck_min(nr, column_end - column0);
            const float *b_packed = b_packing;
            if (b) {
                pack_b(path, *b, p0, depth, column0, width, nr, b_packing);
            } else {
                b_packed = prepacked_panel(prepacked, n, nr, p0, depth, column0);
            }
            for (long block = 0; block < row_blocks; block++) {
                long i = row_begin + block * mr, height = ck_min(mr, row_end - i);
                float *c_tile = c + i * ldc + column0;
                const float *a_block = a_packed + block * mr * depth;
                if (width == nr) {
                    tile(depth, a_block, b_packed, c_tile, ldc, add_to_c, height);
                    continue;
                }
                tile(depth, a_block, b_packed, edge, nr, 0, mr);
                for (long r = 0; r < height; r++)
                    for (long j = 0; j < width; j++)
                        c_tile[r * ldc + j] = add_to_c ? c_tile[r * ldc + j] + edge[r * nr + j] : edge[r * nr + j];
            }
        }
    }
    free(a_packed);
    free(b_packing);
}

void ck_sgemm(int path, ck_float_view a, ck_float_view b, float *c, long ldc,
              long row_begin, long row_end, long column_begin, long column_end, int accumulate) {
    sgemm(path, a, &b, NULL, b.columns, c, ldc, row_begin, row_end, column_begin, column_end, accumulate);
}

void ck_sgemm_packed(int path, ck_float_view a, const float *packed, long n, float *c, long ldc,
                     long row_begin, long row_end, long column_begin, long column_end, int accumulate) {
    sgemm(path, a, NULL, packed, n, c, ldc, row_begin, row_end, column_begin, column_end, accumulate);
}
