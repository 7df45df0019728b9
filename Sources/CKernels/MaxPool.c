/*
 * 2x2 max pooling with stride 2 (both engines' conv layers): the largest of
 * each block and the index of its winner, the first largest in row-major
 * order. Every comparison is a strict "greater than", as in the loop this
 * replaced: ties, and NaN (ordered compares are false), keep the earlier value.
 * The AVX2 loops (run on the AVX2 and AVX-512 paths) take eight blocks at a
 * time; rows of fewer than eight blocks go one block at a time.
 */
#include "Internal.h"

#define CK_POOL_BLOCK(T, NAME)                                                                                   \
    static inline __attribute__((always_inline)) void NAME(const T *input, long top, long width, T *output,     \
                                                           int32_t *winner) {                                   \
        long best_index = top, below = top + width;                                                             \
        T best = input[top];                                                                                    \
        if (input[top + 1] > best) { best = input[top + 1]; best_index = top + 1; }                             \
        if (input[below] > best) { best = input[below]; best_index = below; }                                  \
        if (input[below + 1] > best) { best = input[below + 1]; best_index = below + 1; }                      \
        *output = best;                                                                                         \
        *winner = (int32_t)best_index;                                                                          \
    }
CK_POOL_BLOCK(float, pool_block_float)
CK_POOL_BLOCK(int16_t, pool_block_int16)

/* Blocks ox_begin ..< ow of output row oy of plane p, one at a time. */
#define CK_POOL_ROW_REST(BLOCK)                                                                                  \
    for (long ox = ox_begin; ox < ow; ox++)                                                                     \
        BLOCK(input, top + 2 * ox, width, output + row + ox, winners + row + ox)

/* Every block of every plane, one at a time. */
#define CK_POOL_ROWS_PORTABLE(BLOCK)                                                                             \
    long oh = height / 2, ow = width / 2;                                                                       \
    for (long p = 0; p < planes; p++)                                                                           \
        for (long oy = 0; oy < oh; oy++) {                                                                      \
            long top = (p * height + 2 * oy) * width, row = (p * oh + oy) * ow, ox_begin = 0;                   \
            CK_POOL_ROW_REST(BLOCK);                                                                            \
        }

static void pool_float_portable(const float *input, long planes, long height, long width, float *output,
                                int32_t *winners) {
    CK_POOL_ROWS_PORTABLE(pool_block_float)
}

static void pool_int16_portable(const int16_t *input, long planes, long height, long width, int16_t *output,
                                int32_t *winners) {
    CK_POOL_ROWS_PORTABLE(pool_block_int16)
}

#if CK_X86
/*
 * The AVX2 rows: eight blocks at a time; a row's last blocks (when it has 8
 * or more) are done by one more step that ends at its end, overlapping the
 * previous one (the same values are stored again), so the conv layers' rows
 * of 12 blocks take two steps.
 */
#define CK_POOL_ROWS_AVX2(STEP, BLOCK)                                                                           \
    long oh = height / 2, ow = width / 2;                                                                       \
    for (long p = 0; p < planes; p++)                                                                           \
        for (long oy = 0; oy < oh; oy++) {                                                                      \
            long top = (p * height + 2 * oy) * width, row = (p * oh + oy) * ow, ox = 0;                         \
            if (ow < 8) {                                                                                       \
                long ox_begin = 0;                                                                              \
                CK_POOL_ROW_REST(BLOCK);                                                                        \
                continue;                                                                                       \
            }                                                                                                   \
            for (; ox + 8 <= ow; ox += 8) STEP(input, top + 2 * ox, width, output + row + ox, winners + row + ox); \
            if (ox < ow) STEP(input, top + 2 * (ow - 8), width, output + row + ow - 8, winners + row + ow - 8);   \
        }

/* Eight blocks from `top`: the even and odd floats of the two rows, three strict compares. */
CK_TARGET_AVX2 static inline void pool8_float(const float *input, long top, long width, float *output,
                                              int32_t *winners) {
    __m256 rows[4];
    for (int r = 0; r < 2; r++) {
        const float *source = input + top + r * width;
        __m256 low = _mm256_loadu_ps(source), high = _mm256_loadu_ps(source + 8);
        rows[2 * r] = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(low, high, 0x88)), 0xD8));
        rows[2 * r + 1] = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(low, high, 0xDD)), 0xD8));
    }
    /* Offsets of top right, bottom left, bottom right from the top left. */
    const int32_t offsets[4] = {0, 1, (int32_t)width, (int32_t)width + 1};
    __m256 best = rows[0];
    __m256i offset = _mm256_setzero_si256();
    for (int q = 1; q < 4; q++) {
        __m256 greater = _mm256_cmp_ps(rows[q], best, _CMP_GT_OQ);
        best = _mm256_blendv_ps(best, rows[q], greater);
        offset = _mm256_blendv_epi8(offset, _mm256_set1_epi32(offsets[q]), _mm256_castps_si256(greater));
    }
    _mm256_storeu_ps(output, best);
    __m256i first = _mm256_add_epi32(_mm256_set1_epi32((int32_t)top), _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14));
    _mm256_storeu_si256((__m256i *)winners, _mm256_add_epi32(first, offset));
}

CK_TARGET_AVX2 static void pool_float_avx2(const float *input, long planes, long height, long width, float *output,
                                           int32_t *winners) {
    CK_POOL_ROWS_AVX2(pool8_float, pool_block_float)
}

/* Eight blocks from `top` in Int16 lanes (rows shorter than 32767, so offsets fit). */
CK_TARGET_AVX2 static inline void pool8_int16(const int16_t *input, long top, long width, int16_t *output,
                                              int32_t *winners) {
    /* Within each 128-bit lane: the four even codes, then the four odd ones; then
       the lanes' even halves first: [evens 0-7 | odds 0-7]. */
    const __m256i gather = _mm256_setr_epi8(0, 1, 4, 5, 8, 9, 12, 13, 2, 3, 6, 7, 10, 11, 14, 15,
                                            0, 1, 4, 5, 8, 9, 12, 13, 2, 3, 6, 7, 10, 11, 14, 15);
    __m128i rows[4];
    for (int r = 0; r < 2; r++) {
        __m256i codes = _mm256_loadu_si256((const __m256i *)(input + top + r * width));
        __m256i split = _mm256_permute4x64_epi64(_mm256_shuffle_epi8(codes, gather), 0xD8);
        rows[2 * r] = _mm256_castsi256_si128(split);
        rows[2 * r + 1] = _mm256_extracti128_si256(split, 1);
    }
    const int16_t offsets[4] = {0, 1, (int16_t)width, (int16_t)(width + 1)};
    __m128i best = rows[0], offset = _mm_setzero_si128();
    for (int q = 1; q < 4; q++) {
        __m128i greater = _mm_cmpgt_epi16(rows[q], best);
        best = _mm_blendv_epi8(best, rows[q], greater);
        offset = _mm_blendv_epi8(offset, _mm_set1_epi16(offsets[q]), greater);
    }
    _mm_storeu_si128((__m128i *)output, best);
    __m256i first = _mm256_add_epi32(_mm256_set1_epi32((int32_t)top), _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14));
    _mm256_storeu_si256((__m256i *)winners, _mm256_add_epi32(first, _mm256_cvtepi16_epi32(offset)));
}

CK_TARGET_AVX2 static void pool_int16_avx2(const int16_t *input, long planes, long height, long width, int16_t *output,
                                           int32_t *winners) {
    CK_POOL_ROWS_AVX2(pool8_int16, pool_block_int16)
}
#endif

void ck_max_pool_float(const float *input, long planes, long height, long width, float *output, int32_t *winners) {
#if CK_X86
    if (ck_active_path() != CK_PATH_SCALAR) {
        pool_float_avx2(input, planes, height, width, output, winners);
        return;
    }
#endif
    pool_float_portable(input, planes, height, width, output, winners);
}

void ck_max_pool_int16(const int16_t *input, long planes, long height, long width, int16_t *output,
                       int32_t *winners) {
#if CK_X86
    if (ck_active_path() != CK_PATH_SCALAR && width < 32767) {
        pool_int16_avx2(input, planes, height, width, output, winners);
        return;
    }
#endif
    pool_int16_portable(input, planes, height, width, output, winners);
}
