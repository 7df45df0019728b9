/*
 * Integer register tiles for x86-64 (see IntegerGEMM.c for why each is exact).
 * Each keeps an mr x nr block of Int32 run sums in registers, then widens it,
 * shifts it left by `shift` bits and stores or adds it into Int64 C (rows
 * from `height` on are computed but not stored: the last row block).
 */
#include "Internal.h"
#if CK_X86

/* Sixteen Int32 sums (minus offsets) widened into c[0..16). */
CK_TARGET_AVX512
static inline void widen_512(__m512i sums, const int32_t *offsets, int64_t *c, int add_to_c, int shift) {
    if (offsets) sums = _mm512_sub_epi32(sums, _mm512_loadu_si512(offsets));
    __m128i count = _mm_cvtsi32_si128(shift);
    __m512i low = _mm512_sll_epi64(_mm512_cvtepi32_epi64(_mm512_castsi512_si256(sums)), count);
    __m512i high = _mm512_sll_epi64(_mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(sums, 1)), count);
    if (add_to_c) {
        low = _mm512_add_epi64(_mm512_loadu_si512(c), low);
        high = _mm512_add_epi64(_mm512_loadu_si512(c + 8), high);
    }
    _mm512_storeu_si512(c, low);
    _mm512_storeu_si512(c + 8, high);
}

#define CK_ROWS_512(step) step(0) step(1) step(2) step(3) step(4) step(5) step(6) step(7)

/* |sums - offsets| of sixteen lanes folded into `top` (the tile's largest, see Internal.h). */
CK_TARGET_AVX512
static inline __m512i largest_512(__m512i top, __m512i sums, const int32_t *offsets) {
    if (offsets) sums = _mm512_sub_epi32(sums, _mm512_loadu_si512(offsets));
    return _mm512_max_epu32(top, _mm512_abs_epi32(sums));
}

/* Raises *largest to the largest lane of `top`. */
CK_TARGET_AVX512
static inline void raise_largest_512(__m512i top, uint32_t *largest) {
    uint32_t tile_largest =
        ck_horizontal_max_epu32(_mm256_max_epu32(_mm512_castsi512_si256(top), _mm512_extracti64x4_epi64(top, 1)));
    if (tile_largest > *largest) *largest = tile_largest;
}

/* AVX-512 VNNI, Int16 pairs: 8 rows x 32 columns, vpdpwssd. */
CK_TARGET_AVX512
void ck_pairs_tile_avx512(long groups, const void *a_packed, const void *b_packed, const int32_t *column_offsets,
                          int64_t *c, long ldc, int add_to_c, int shift, long height, uint32_t *largest) {
    const int32_t *a = a_packed;
    const __m512i *b = b_packed;
#define CK_DECLARE(r) __m512i s##r##0 = _mm512_setzero_si512(), s##r##1 = _mm512_setzero_si512();
    CK_ROWS_512(CK_DECLARE)
#undef CK_DECLARE
    for (long q = 0; q < groups; q++) {
        __m512i b0 = _mm512_load_si512(b + 2 * q), b1 = _mm512_load_si512(b + 2 * q + 1);
        const int32_t *x = a + q * 8;
#define CK_STEP(r) { __m512i pair = _mm512_set1_epi32(x[r]); \
        s##r##0 = _mm512_dpwssd_epi32(s##r##0, pair, b0); s##r##1 = _mm512_dpwssd_epi32(s##r##1, pair, b1); }
        CK_ROWS_512(CK_STEP)
#undef CK_STEP
    }
#define CK_WIDEN(r) if (r < height) { widen_512(s##r##0, column_offsets, c + r * ldc, add_to_c, shift); \
    widen_512(s##r##1, column_offsets ? column_offsets + 16 : NULL, c + r * ldc + 16, add_to_c, shift); }
    CK_ROWS_512(CK_WIDEN)
#define CK_TOP(r) top = largest_512(largest_512(top, s##r##0, column_offsets), s##r##1, \
                                    column_offsets ? column_offsets + 16 : NULL);
    if (largest) {
        __m512i top = _mm512_setzero_si512();
        CK_ROWS_512(CK_TOP)
        raise_largest_512(top, largest);
    }
}

/* AVX-512 VNNI, bytes: 8 rows x 32 columns, vpdpbusd on (A + 128) as unsigned and B as signed. */
CK_TARGET_AVX512
void ck_quads_tile_avx512(long groups, const void *a_packed, const void *b_packed, const int32_t *column_offsets,
                          int64_t *c, long ldc, int add_to_c, int shift, long height, uint32_t *largest) {
    const int32_t *a = a_packed;
    const __m512i *b = b_packed;
#define CK_DECLARE(r) __m512i s##r##0 = _mm512_setzero_si512(), s##r##1 = _mm512_setzero_si512();
    CK_ROWS_512(CK_DECLARE)
#undef CK_DECLARE
    for (long q = 0; q < groups; q++) {
        __m512i b0 = _mm512_load_si512(b + 2 * q), b1 = _mm512_load_si512(b + 2 * q + 1);
        const int32_t *x = a + q * 8;
#define CK_STEP(r) { __m512i quad = _mm512_set1_epi32(x[r]); \
        s##r##0 = _mm512_dpbusd_epi32(s##r##0, quad, b0); s##r##1 = _mm512_dpbusd_epi32(s##r##1, quad, b1); }
        CK_ROWS_512(CK_STEP)
#undef CK_STEP
    }
    CK_ROWS_512(CK_WIDEN)
#undef CK_WIDEN
    if (largest) {
        __m512i top = _mm512_setzero_si512();
        CK_ROWS_512(CK_TOP)
        raise_largest_512(top, largest);
    }
#undef CK_TOP
}

CK_TARGET_AVX512
int32_t ck_pack_quads_column_avx512(const int16_t *column, long depth, uint32_t *words, long word_stride) {
    const __m512i index = _mm512_mullo_epi32(
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), _mm512_set1_epi32((int)word_stride));
    const __m512i ones = _mm512_set1_epi16(1);
    __m512i sums = _mm512_setzero_si512();
    for (long p = 0; p + 64 <= depth; p += 64) {
        __m512i low = _mm512_loadu_si512(column + p), high = _mm512_loadu_si512(column + p + 32);
        sums = _mm512_add_epi32(sums, _mm512_add_epi32(_mm512_madd_epi16(low, ones), _mm512_madd_epi16(high, ones)));
        /* vpmovwb keeps the low byte: exact for int8-range codes. */
        __m512i bytes = _mm512_inserti64x4(_mm512_castsi256_si512(_mm512_cvtepi16_epi8(low)), _mm512_cvtepi16_epi8(high), 1);
        _mm512_i32scatter_epi32(words + (p / 4) * word_stride, index, bytes, 4);
    }
    return _mm512_reduce_add_epi32(sums);
}

/* Eight Int32 sums widened into c[0..8). */
CK_TARGET_AVX2
static inline void widen_256(__m256i sums, int64_t *c, int add_to_c, int shift) {
    __m128i count = _mm_cvtsi32_si128(shift);
    __m256i low = _mm256_sll_epi64(_mm256_cvtepi32_epi64(_mm256_castsi256_si128(sums)), count);
    __m256i high = _mm256_sll_epi64(_mm256_cvtepi32_epi64(_mm256_extracti128_si256(sums, 1)), count);
    if (add_to_c) {
        low = _mm256_add_epi64(_mm256_loadu_si256((const __m256i *)c), low);
        high = _mm256_add_epi64(_mm256_loadu_si256((const __m256i *)(c + 4)), high);
    }
    _mm256_storeu_si256((__m256i *)c, low);
    _mm256_storeu_si256((__m256i *)(c + 4), high);
}

/* AVX2, Int16 pairs: 6 rows x 16 columns, vpmaddwd + vpaddd. */
CK_TARGET_AVX2
void ck_pairs_tile_avx2(long groups, const void *a_packed, const void *b_packed, const int32_t *column_offsets,
                        int64_t *c, long ldc, int add_to_c, int shift, long height, uint32_t *largest) {
    (void)column_offsets;
    const int32_t *a = a_packed;
    const __m256i *b = b_packed;
#define CK_ROWS_256(step) step(0) step(1) step(2) step(3) step(4) step(5)
#define CK_DECLARE(r) __m256i s##r##0 = _mm256_setzero_si256(), s##r##1 = _mm256_setzero_si256();
    CK_ROWS_256(CK_DECLARE)
#undef CK_DECLARE
    for (long q = 0; q < groups; q++) {
        __m256i b0 = _mm256_load_si256(b + 2 * q), b1 = _mm256_load_si256(b + 2 * q + 1);
        const int32_t *x = a + q * 6;
#define CK_STEP(r) { __m256i pair = _mm256_set1_epi32(x[r]); \
        s##r##0 = _mm256_add_epi32(s##r##0, _mm256_madd_epi16(pair, b0)); \
        s##r##1 = _mm256_add_epi32(s##r##1, _mm256_madd_epi16(pair, b1)); }
        CK_ROWS_256(CK_STEP)
#undef CK_STEP
    }
#define CK_WIDEN(r) if (r < height) { widen_256(s##r##0, c + r * ldc, add_to_c, shift); \
    widen_256(s##r##1, c + r * ldc + 8, add_to_c, shift); }
    CK_ROWS_256(CK_WIDEN)
#undef CK_WIDEN
    if (largest) {
        __m256i top = _mm256_setzero_si256();
#define CK_TOP(r) top = _mm256_max_epu32(top, _mm256_max_epu32(_mm256_abs_epi32(s##r##0), _mm256_abs_epi32(s##r##1)));
        CK_ROWS_256(CK_TOP)
#undef CK_TOP
        uint32_t tile_largest = ck_horizontal_max_epu32(top);
        if (tile_largest > *largest) *largest = tile_largest;
    }
#undef CK_ROWS_256
}
#endif
