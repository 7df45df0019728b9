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
 *           products (rounded down to even), used when that is at least 2 and
 *           at least 12, or at least k (a short product then takes one or two
 *           runs). On a Zen 3 core, PAIRS16 in runs of 16 took 0.75x SPLIT16's
 *           time at 64x784x1024 and 0.5x at a conv layer's 32x25x576, runs of
 *           10 about 1.0x and 0.6x, runs of 8 1.2x and 0.7x.
 *   SPLIT16 otherwise (codes near full int16 range): B = 256 * high + low with
 *           low in [0, 255] and high in [-128, 127]; two PAIRS16 passes, the
 *           high one shifted left 8 bits on widening. |a * low| < 2^23, so runs
 *           of 256 products are exact.
 *   EXACT64 the portable path: every product added straight into Int64.
 *
 * Never vpmaddubsw: its Int16 pair sums saturate.
 */
#include "Internal.h"

enum { pairs_depth_limit = 512, quads_depth_limit = 1024, shortest_pairs_run = 12, panel_span_bytes = 16384 };

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

static inline __attribute__((always_inline)) void int16_range_loop(ck_int16_view view, int32_t *minimum, int32_t *maximum) {
    /* Scan along whichever direction is contiguous: a transposed view is read as stored. */
    long lines = view.rows, length = view.columns, line_stride = view.row_stride, step = view.column_stride;
    if (step != 1 && line_stride == 1) {
        lines = view.columns; length = view.rows; line_stride = view.column_stride; step = 1;
    }
    int16_t low = 0, high = 0;
    if (lines > 0 && length > 0) low = high = view.base[0];
    for (long i = 0; i < lines; i++) {
        const int16_t *line = view.base + i * line_stride;
        if (step == 1) {
            for (long j = 0; j < length; j++) {
                low = line[j] < low ? line[j] : low;
                high = line[j] > high ? line[j] : high;
            }
        } else {
            for (long j = 0; j < length; j++) {
                int16_t value = line[j * step];
                low = value < low ? value : low;
                high = value > high ? value : high;
            }
        }
    }
    *minimum = low;
    *maximum = high;
}

static void int16_range_portable(ck_int16_view view, int32_t *minimum, int32_t *maximum) {
    int16_range_loop(view, minimum, maximum);
}
#if CK_X86
CK_TARGET_AVX2 static void int16_range_avx2(ck_int16_view view, int32_t *minimum, int32_t *maximum) {
    int16_range_loop(view, minimum, maximum);
}
CK_TARGET_AVX512 static void int16_range_avx512(ck_int16_view view, int32_t *minimum, int32_t *maximum) {
    int16_range_loop(view, minimum, maximum);
}
#endif

void ck_int16_range(ck_int16_view view, int32_t *minimum, int32_t *maximum) {
#if CK_X86
    int path = ck_active_path();
    if (path == CK_PATH_AVX512) {
        int16_range_avx512(view, minimum, maximum);
        return;
    }
    if (path == CK_PATH_AVX2) {
        int16_range_avx2(view, minimum, maximum);
        return;
    }
#endif
    int16_range_portable(view, minimum, maximum);
}

int ck_igemm_method(int path, long k, int32_t a_min, int32_t a_max, int32_t b_min, int32_t b_max) {
    if (path == CK_PATH_SCALAR || !ck_path_supported(path)) return CK_INT_EXACT64;
    if (path == CK_PATH_AVX512 && a_min >= -128 && a_max <= 127 && b_min >= -128 && b_max <= 127)
        return CK_INT_QUADS8;
    int64_t bound = ck_range_magnitude(a_min, a_max) * ck_range_magnitude(b_min, b_max);
    if (bound == 0) return CK_INT_PAIRS16;
    int64_t run = INT32_MAX / bound;
    if (run >= 2 && run >= ck_min(shortest_pairs_run, k)) return CK_INT_PAIRS16;
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

#if CK_X86 /* packing serves the x86 tiles only */
/* Which part of B a pass packs: all of it, its low byte (0..255) or its high byte. */
enum { part_whole = 0, part_low = 1, part_high = 2 };

static inline int32_t b_part(int16_t value, int part) {
    if (part == part_low) return value & 0xff;
    if (part == part_high) return value >> 8; /* arithmetic: value = 256 * high + low */
    return value;
}

/* Four codes as the bytes of one little-endian word (int8-range codes; A is offset by 128 first). */
static inline uint32_t quad_word(int32_t v0, int32_t v1, int32_t v2, int32_t v3) {
    return (uint32_t)(uint8_t)v0 | (uint32_t)(uint8_t)v1 << 8 | (uint32_t)(uint8_t)v2 << 16 | (uint32_t)(uint8_t)v3 << 24;
}

/* Two Int16 codes as one little-endian word. */
static inline uint32_t pair_word(int32_t v0, int32_t v1) {
    return (uint32_t)(uint16_t)v0 | (uint32_t)(uint16_t)v1 << 16;
}

/*
 * Writes the words of one packed line: `count` codes source[0], source[stride],
 * ... (transformed by `part`, plus `offset`) grouped by `group` into
 * words[0], words[word_stride], ...; returns the sum of the untransformed codes.
 * Codes past `count` in the last word are zero (the code of zero: `offset`).
 */
static inline int32_t pack_line(const int16_t *source, long stride, long count, int group, int part, int32_t offset,
                                uint32_t *words, long word_stride) {
    int32_t sum = 0;
    long full = count / group, q = 0;
    if (group == 4) {
        for (; q < full; q++) {
            const int16_t *v = source + 4 * q * stride;
            int32_t v0 = v[0], v1 = v[stride], v2 = v[2 * stride], v3 = v[3 * stride];
            sum += v0 + v1 + v2 + v3;
            words[q * word_stride] = quad_word(v0 + offset, v1 + offset, v2 + offset, v3 + offset);
        }
    } else {
        for (; q < full; q++) {
            const int16_t *v = source + 2 * q * stride;
            words[q * word_stride] = pair_word(b_part(v[0], part), b_part(v[stride], part));
        }
    }
    long rest = count - full * group;
    if (rest > 0) {
        int32_t v[4] = {offset, offset, offset, offset};
        for (long g = 0; g < rest; g++) {
            v[g] = source[(full * group + g) * stride];
            sum += v[g];
            v[g] = group == 4 ? v[g] + offset : b_part((int16_t)v[g], part);
        }
        words[full * word_stride] = group == 4 ? quad_word(v[0], v[1], v[2], v[3]) : pair_word(v[0], v[1]);
    }
    return sum;
}

/* pack_line with the common strides (1) made constant, so the compiler specialises them. */
static int32_t pack_line_any(const int16_t *source, long stride, long count, int group, int part, int32_t offset,
                             uint32_t *words, long word_stride) {
    if (stride == 1) {
        if (group == 4) return pack_line(source, 1, count, 4, part_whole, offset, words, word_stride);
        if (part == part_whole) return pack_line(source, 1, count, 2, part_whole, 0, words, word_stride);
        return pack_line(source, 1, count, 2, part, 0, words, word_stride);
    }
    if (group == 4) return pack_line(source, stride, count, 4, part_whole, offset, words, word_stride);
    return pack_line(source, stride, count, 2, part, 0, words, word_stride);
}

/*
 * pack_b for a row-major B (dY W): `group` rows at a time, each read along its
 * length, so the panel's source lines stream through the cache once.
 */
static void pack_b_rows(ck_int16_view b, long p0, long depth, long column0, long width, long nr, int group, int part,
                        void *b_packed, int32_t *column_offsets) {
    static const int16_t zeros[32] = {0};
    int32_t sums[32] = {0};
    uint32_t *words = b_packed;
    for (long q = 0; q * group < depth; q++) {
        const int16_t *row[4];
        for (int g = 0; g < 4; g++) {
            long p = q * group + g;
            row[g] = (g < group && p < depth) ? b.base + (p0 + p) * b.row_stride + column0 : zeros;
        }
        uint32_t *target = words + q * nr;
        if (group == 4) {
            for (long j = 0; j < width; j++) {
                sums[j] += row[0][j] + row[1][j] + row[2][j] + row[3][j];
                target[j] = quad_word(row[0][j], row[1][j], row[2][j], row[3][j]);
            }
        } else if (part == part_whole) {
            for (long j = 0; j < width; j++) target[j] = pair_word(row[0][j], row[1][j]);
        } else {
            for (long j = 0; j < width; j++) target[j] = pair_word(b_part(row[0][j], part), b_part(row[1][j], part));
        }
    }
    if (column_offsets)
        for (long j = 0; j < nr; j++) column_offsets[j] = 128 * sums[j];
}

/*
 * a_packed[block][q][r] = the word of A[row0 + block*mr + r, p0 + q*group ..< +group]:
 * Int16 pairs, or for quads A + 128 as unsigned bytes. Rows past `rows` and
 * depths past `depth` hold the code for zero.
 */
static void pack_a(ck_int16_view a, long row0, long rows, long p0, long depth, long mr, int group, void *a_packed) {
    long groups = (depth + group - 1) / group;
    int32_t offset = group == 4 ? 128 : 0;
    for (long block = 0; block * mr < rows; block++) {
        long first_row = row0 + block * mr, height = ck_min(mr, rows - block * mr);
        uint32_t *target = (uint32_t *)a_packed + block * groups * mr;
        const int16_t *first = a.base + first_row * a.row_stride + p0 * a.column_stride;
        if (group == 2 && a.column_stride == 1 && a.row_stride % 2 == 0 && mr <= 8 && height == mr &&
            first_row + 8 <= a.rows) {
            /* Pairs of a row as stored are its 32-bit words: eight rows at a time by
               the float kernel's 8 x 8 word transpose, stored mr words apart in
               increasing order (each store's words of rows past mr are overwritten
               by the next one, the last one's by the odd depth's word below, the
               next block, or land in the padding). Reads rows past the block, never past A. */
            long words_full = depth / 2;
            ck_pack_columns8_avx2((const float *)first, a.row_stride / 2, words_full, (float *)target, mr);
            if (depth % 2)
                for (long r = 0; r < mr; r++)
                    target[words_full * mr + r] = pair_word(first[r * a.row_stride + depth - 1], 0);
            continue;
        }
        if (height < mr) memset(target, group == 4 ? 128 : 0, sizeof(uint32_t) * groups * mr);
        if (group == 2 && a.row_stride == 1 && a.column_stride != 1) {
            /* A a transpose (a weight update's dY^T): its stored lines are the rows
               of a row-major B whose columns are A's rows, so each pair group
               interleaves two short runs instead of gathering every code alone. */
            ck_int16_view lines = {.base = a.base, .rows = a.columns, .columns = a.rows, .row_stride = a.column_stride,
                                   .column_stride = 1};
            pack_b_rows(lines, p0, depth, first_row, height, mr, group, part_whole, target, NULL);
            continue;
        }
        for (long r = 0; r < height; r++)
            pack_line_any(first + r * a.row_stride, a.column_stride, depth, group, part_whole, offset, target + r, mr);
    }
}

/*
 * b_packed[q][j] = the word of (part of) B[p0 + q*group ..< +group, column0 + j]
 * (zero past `width` and `depth`); for quads also column_offsets[j] = 128 * column sum.
 */
static void pack_b(ck_int16_view b, long p0, long depth, long column0, long width, long nr, int group, int part,
                   void *b_packed, int32_t *column_offsets) {
    long groups = (depth + group - 1) / group;
    if (width < nr) memset(b_packed, 0, sizeof(uint32_t) * groups * nr);
    if (b.column_stride == 1 && b.row_stride != 1) {
        pack_b_rows(b, p0, depth, column0, width, nr, group, part, b_packed, column_offsets);
        return;
    }
    long j = 0;
    if (group == 2 && part == part_whole && b.row_stride == 1 && b.column_stride % 2 == 0) {
        /* Int16 pairs of a contiguous column are its 32-bit words as stored:
           eight columns at a time by the float kernel's 8 x 8 word transpose
           (moves only, so any bit pattern passes unchanged). */
        long words_full = depth / 2;
        for (; j + 8 <= width; j += 8) {
            const int16_t *column = b.base + (column0 + j) * b.column_stride + p0;
            ck_pack_columns8_avx2((const float *)column, b.column_stride / 2, words_full, (float *)b_packed + j, nr);
            if (depth % 2) {
                for (long g = 0; g < 8; g++)
                    ((uint32_t *)b_packed)[words_full * nr + j + g] = pair_word(column[g * b.column_stride + depth - 1], 0);
            }
        }
    }
    for (; j < width; j++) {
        const int16_t *column = b.base + (column0 + j) * b.column_stride + p0 * b.row_stride;
        uint32_t *words = (uint32_t *)b_packed + j;
        int32_t sum = 0;
        long done = 0;
        if (group == 4 && b.row_stride == 1) {
            /* Quads exist on the AVX-512 path only: narrow and scatter 64 codes at a time (W^T in X W^T). */
            done = depth / 64 * 64;
            if (done > 0) sum = ck_pack_quads_column_avx512(column, done, words, nr);
        }
        sum += pack_line_any(column + done, b.row_stride, depth - done, group, part, 0, words + done / group * nr, nr);
        if (column_offsets) column_offsets[j] = 128 * sum;
    }
    if (column_offsets)
        for (long j = width; j < nr; j++) column_offsets[j] = 0;
}

#endif

#if CK_X86
/*
 * One tile of C (`height` rows, `width` columns from c_tile) from one packed
 * k block: stored (or added, `add`) by the tile, or for a ragged panel through
 * a buffer of whole tiles.
 */
static inline void int_tile(ck_int_tile tile, long groups, const void *a_block, const void *b_block, const int32_t *offsets,
                            int64_t *c_tile, long ldc, int add, int shift, long height, long width, long mr, long nr,
                            uint32_t *largest) {
    if (width == nr) {
        tile(groups, a_block, b_block, offsets, c_tile, ldc, add, shift, height, largest);
        return;
    }
    int64_t edge[8 * 32];
    tile(groups, a_block, b_block, offsets, edge, nr, 0, shift, mr, largest);
    for (long r = 0; r < height; r++)
        for (long j = 0; j < width; j++) {
            uint64_t value = (uint64_t)edge[r * nr + j];
            c_tile[r * ldc + j] = (int64_t)(add ? (uint64_t)c_tile[r * ldc + j] + value : value);
        }
}
#endif

void ck_igemm(int path, ck_int16_view a, ck_int16_view b,
              int32_t a_min, int32_t a_max, int32_t b_min, int32_t b_max,
              int64_t *c, long ldc, long row_begin, long row_end, long column_begin, long column_end,
              int accumulate, uint64_t *largest) {
    long k = a.columns, rows = row_end - row_begin;
    if (rows <= 0 || column_end <= column_begin) return;
    if ((a_min == 0 && a_max == 0) || (b_min == 0 && b_max == 0)) {
        /* Every sum is 0 (PEPITA's int8 first-layer update when no hidden code
           differs between its passes): `largest` stays 0 for C = A B. */
        if (accumulate) {
            if (largest) __atomic_store_n(largest, UINT64_MAX, __ATOMIC_RELAXED);
            return;
        }
        for (long i = row_begin; i < row_end; i++)
            memset(c + i * ldc + column_begin, 0, sizeof(int64_t) * (column_end - column_begin));
        return;
    }
    int method = ck_igemm_method(path, k, a_min, a_max, b_min, b_max);
    if (method == CK_INT_EXACT64 || k == 0) {
        if (largest) __atomic_store_n(largest, UINT64_MAX, __ATOMIC_RELAXED);
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
        int64_t b_bound = method == CK_INT_SPLIT16 ? 255 : ck_range_magnitude(b_min, b_max);
        int64_t bound = ck_range_magnitude(a_min, a_max) * b_bound;
        long run = bound == 0 ? limit : (long)(INT32_MAX / bound) / 2 * 2;
        limit = ck_min(limit, run);
    }
    long block_depth = ck_block_depth(k, limit, group);
    if (block_depth > limit) block_depth = limit; /* limit is a multiple of group, so blocks stay exact */
    /* The largest |C| is taken from the tiles' Int32 sums when they are C itself. */
    int take_largest = largest && passes == 1 && block_depth >= k && !accumulate;
    uint32_t tiles_largest = 0;
    if (largest && !take_largest) __atomic_store_n(largest, UINT64_MAX, __ATOMIC_RELAXED);
    /* Loop order: A packed for every k block once; per B panel, spans of k
       blocks whose packed panels fit in half of L1 (one block at least): the
       span's panels packed, then each row block's tile summed over the span's
       blocks in turn, so that C's tile is added to while it is in L1 (products
       of many short blocks, as int16 codes give, pass over C once per span,
       not once per block). */
    long blocks = (k + block_depth - 1) / block_depth;
    long groups_max = (block_depth + group - 1) / group;
    long groups_last = (k - (blocks - 1) * block_depth + group - 1) / group; /* the last block's (the others': groups_max) */
    long row_blocks = (rows + mr - 1) / mr;
    const size_t word = 4; /* a packed word: four bytes (quads) or two Int16 codes (pairs) */
    long a_words = groups_max * mr * row_blocks, b_words = groups_max * nr;
    long span = ck_min(blocks, ck_max(1, (long)(panel_span_bytes / (word * b_words * passes))));
    char *a_packed = ck_allocate(word * (a_words * blocks + 8)); /* + 8 words: pack_a's padding */
    char *b_packed[2] = { ck_allocate(word * b_words * span), passes == 2 ? ck_allocate(word * b_words * span) : NULL };
    int32_t *column_offsets = method == CK_INT_QUADS8 ? ck_allocate(sizeof(int32_t) * 32 * span) : NULL;
    /* In increasing order: a block's padding words land on the next block, packed after it. */
    for (long q = 0; q < blocks; q++) {
        long p0 = q * block_depth;
        pack_a(a, row_begin, rows, p0, ck_min(block_depth, k - p0), mr, group, a_packed + word * a_words * q);
    }
    for (long column0 = column_begin; column0 < column_end; column0 += nr) {
        long width = ck_min(nr, column_end - column0);
        for (long first = 0; first < blocks; first += span) {
            long last = ck_min(blocks, first + span);
            for (long q = first; q < last; q++) {
                long p0 = q * block_depth;
                for (int pass = 0; pass < passes; pass++) {
                    int part = passes == 1 ? part_whole : pass == 0 ? part_low : part_high;
                    pack_b(b, p0, ck_min(block_depth, k - p0), column0, width, nr, group, part,
                           b_packed[pass] + word * b_words * (q - first),
                           column_offsets ? column_offsets + 32 * (q - first) : NULL);
                }
            }
            if (last - first == 1) {
                /* One block (every product whose k fits one block): its values hoisted out of the row blocks. */
                long groups = first == blocks - 1 ? groups_last : groups_max;
                const char *a_blocks = a_packed + word * a_words * first;
                for (long block = 0; block < row_blocks; block++) {
                    long i = row_begin + block * mr;
                    for (int pass = 0; pass < passes; pass++) {
                        int_tile(tile, groups, a_blocks + word * groups * mr * block, b_packed[pass], column_offsets,
                                 c + i * ldc + column0, ldc, accumulate || first > 0 || pass > 0, pass == 1 ? 8 : 0,
                                 ck_min(mr, row_end - i), width, mr, nr, take_largest ? &tiles_largest : NULL);
                    }
                }
                continue;
            }
            for (long block = 0; block < row_blocks; block++) {
                long i = row_begin + block * mr;
                for (long q = first; q < last; q++) {
                    long groups = q == blocks - 1 ? groups_last : groups_max;
                    const char *a_block = a_packed + word * (a_words * q + groups * mr * block);
                    for (int pass = 0; pass < passes; pass++) {
                        int_tile(tile, groups, a_block, b_packed[pass] + word * b_words * (q - first),
                                 column_offsets ? column_offsets + 32 * (q - first) : NULL, c + i * ldc + column0, ldc,
                                 accumulate || q > 0 || pass > 0, pass == 1 ? 8 : 0, ck_min(mr, row_end - i), width, mr, nr,
                                 take_largest ? &tiles_largest : NULL);
                    }
                }
            }
        }
    }
    free(a_packed);
    free(b_packed[0]);
    free(b_packed[1]);
    free(column_offsets);
    if (take_largest) {
        /* Raise the shared value (a UINT64_MAX left by another part stays: they all take it or none does). */
        uint64_t seen = __atomic_load_n(largest, __ATOMIC_RELAXED);
        while (tiles_largest > seen &&
               !__atomic_compare_exchange_n(largest, &seen, tiles_largest, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
        }
    }
#endif
}
