/*
 * Float32 register tiles for x86-64, compiled per function for their
 * instruction set (called only when ck_path_supported says the CPU has it).
 * Each keeps an mr x nr block of C in registers and adds
 * a_packed[p][r] * b_packed[p][0..nr) with one fused multiply-add per vector;
 * rows from `height` on are computed but not stored (the last row block).
 */
#include "Internal.h"
#if CK_X86

CK_TARGET_AVX2
void ck_pack_columns8_avx2(const float *source, long source_stride, long depth, float *target, long target_stride) {
    long p = 0;
    for (; p + 8 <= depth; p += 8) {
        __m256 r0 = _mm256_loadu_ps(source + 0 * source_stride + p), r1 = _mm256_loadu_ps(source + 1 * source_stride + p);
        __m256 r2 = _mm256_loadu_ps(source + 2 * source_stride + p), r3 = _mm256_loadu_ps(source + 3 * source_stride + p);
        __m256 r4 = _mm256_loadu_ps(source + 4 * source_stride + p), r5 = _mm256_loadu_ps(source + 5 * source_stride + p);
        __m256 r6 = _mm256_loadu_ps(source + 6 * source_stride + p), r7 = _mm256_loadu_ps(source + 7 * source_stride + p);
        __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
        __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
        __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
        __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
        __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
        __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
        __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
        __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
        float *out = target + p * target_stride;
        _mm256_storeu_ps(out + 0 * target_stride, _mm256_permute2f128_ps(u0, u4, 0x20));
        _mm256_storeu_ps(out + 1 * target_stride, _mm256_permute2f128_ps(u1, u5, 0x20));
        _mm256_storeu_ps(out + 2 * target_stride, _mm256_permute2f128_ps(u2, u6, 0x20));
        _mm256_storeu_ps(out + 3 * target_stride, _mm256_permute2f128_ps(u3, u7, 0x20));
        _mm256_storeu_ps(out + 4 * target_stride, _mm256_permute2f128_ps(u0, u4, 0x31));
        _mm256_storeu_ps(out + 5 * target_stride, _mm256_permute2f128_ps(u1, u5, 0x31));
        _mm256_storeu_ps(out + 6 * target_stride, _mm256_permute2f128_ps(u2, u6, 0x31));
        _mm256_storeu_ps(out + 7 * target_stride, _mm256_permute2f128_ps(u3, u7, 0x31));
    }
    for (; p < depth; p++)
        for (long j = 0; j < 8; j++) target[p * target_stride + j] = source[j * source_stride + p];
}

/* AVX2: 6 rows x 16 columns = 12 ymm sums, 2 B vectors, 1 broadcast. */
CK_TARGET_AVX2
void ck_float_tile_avx2(long kc, const float *a_packed, const float *b_packed, float *c, long ldc, int add_to_c,
                        long height) {
    __m256 s00 = _mm256_setzero_ps(), s01 = _mm256_setzero_ps();
    __m256 s10 = _mm256_setzero_ps(), s11 = _mm256_setzero_ps();
    __m256 s20 = _mm256_setzero_ps(), s21 = _mm256_setzero_ps();
    __m256 s30 = _mm256_setzero_ps(), s31 = _mm256_setzero_ps();
    __m256 s40 = _mm256_setzero_ps(), s41 = _mm256_setzero_ps();
    __m256 s50 = _mm256_setzero_ps(), s51 = _mm256_setzero_ps();
    for (long p = 0; p < kc; p++) {
        __m256 b0 = _mm256_load_ps(b_packed + p * 16), b1 = _mm256_load_ps(b_packed + p * 16 + 8);
        const float *x = a_packed + p * 6;
        __m256 a;
        a = _mm256_broadcast_ss(x + 0); s00 = _mm256_fmadd_ps(a, b0, s00); s01 = _mm256_fmadd_ps(a, b1, s01);
        a = _mm256_broadcast_ss(x + 1); s10 = _mm256_fmadd_ps(a, b0, s10); s11 = _mm256_fmadd_ps(a, b1, s11);
        a = _mm256_broadcast_ss(x + 2); s20 = _mm256_fmadd_ps(a, b0, s20); s21 = _mm256_fmadd_ps(a, b1, s21);
        a = _mm256_broadcast_ss(x + 3); s30 = _mm256_fmadd_ps(a, b0, s30); s31 = _mm256_fmadd_ps(a, b1, s31);
        a = _mm256_broadcast_ss(x + 4); s40 = _mm256_fmadd_ps(a, b0, s40); s41 = _mm256_fmadd_ps(a, b1, s41);
        a = _mm256_broadcast_ss(x + 5); s50 = _mm256_fmadd_ps(a, b0, s50); s51 = _mm256_fmadd_ps(a, b1, s51);
    }
#define CK_STORE_ROW(r, low, high) do { \
        if ((r) >= height) break; \
        float *row = c + (r) * ldc; \
        if (add_to_c) { \
            low = _mm256_add_ps(_mm256_loadu_ps(row), low); \
            high = _mm256_add_ps(_mm256_loadu_ps(row + 8), high); \
        } \
        _mm256_storeu_ps(row, low); _mm256_storeu_ps(row + 8, high); \
    } while (0)
    CK_STORE_ROW(0, s00, s01); CK_STORE_ROW(1, s10, s11); CK_STORE_ROW(2, s20, s21);
    CK_STORE_ROW(3, s30, s31); CK_STORE_ROW(4, s40, s41); CK_STORE_ROW(5, s50, s51);
#undef CK_STORE_ROW
}

/* AVX-512: 8 rows x 32 columns = 16 zmm sums, 2 B vectors, broadcasts from memory. */
CK_TARGET_AVX512
void ck_float_tile_avx512(long kc, const float *a_packed, const float *b_packed, float *c, long ldc, int add_to_c,
                          long height) {
    __m512 s00 = _mm512_setzero_ps(), s01 = _mm512_setzero_ps();
    __m512 s10 = _mm512_setzero_ps(), s11 = _mm512_setzero_ps();
    __m512 s20 = _mm512_setzero_ps(), s21 = _mm512_setzero_ps();
    __m512 s30 = _mm512_setzero_ps(), s31 = _mm512_setzero_ps();
    __m512 s40 = _mm512_setzero_ps(), s41 = _mm512_setzero_ps();
    __m512 s50 = _mm512_setzero_ps(), s51 = _mm512_setzero_ps();
    __m512 s60 = _mm512_setzero_ps(), s61 = _mm512_setzero_ps();
    __m512 s70 = _mm512_setzero_ps(), s71 = _mm512_setzero_ps();
    for (long p = 0; p < kc; p++) {
        __m512 b0 = _mm512_load_ps(b_packed + p * 32), b1 = _mm512_load_ps(b_packed + p * 32 + 16);
        const float *x = a_packed + p * 8;
        __m512 a;
        a = _mm512_set1_ps(x[0]); s00 = _mm512_fmadd_ps(a, b0, s00); s01 = _mm512_fmadd_ps(a, b1, s01);
        a = _mm512_set1_ps(x[1]); s10 = _mm512_fmadd_ps(a, b0, s10); s11 = _mm512_fmadd_ps(a, b1, s11);
        a = _mm512_set1_ps(x[2]); s20 = _mm512_fmadd_ps(a, b0, s20); s21 = _mm512_fmadd_ps(a, b1, s21);
        a = _mm512_set1_ps(x[3]); s30 = _mm512_fmadd_ps(a, b0, s30); s31 = _mm512_fmadd_ps(a, b1, s31);
        a = _mm512_set1_ps(x[4]); s40 = _mm512_fmadd_ps(a, b0, s40); s41 = _mm512_fmadd_ps(a, b1, s41);
        a = _mm512_set1_ps(x[5]); s50 = _mm512_fmadd_ps(a, b0, s50); s51 = _mm512_fmadd_ps(a, b1, s51);
        a = _mm512_set1_ps(x[6]); s60 = _mm512_fmadd_ps(a, b0, s60); s61 = _mm512_fmadd_ps(a, b1, s61);
        a = _mm512_set1_ps(x[7]); s70 = _mm512_fmadd_ps(a, b0, s70); s71 = _mm512_fmadd_ps(a, b1, s71);
    }
#define CK_STORE_ROW(r, low, high) do { \
        if ((r) >= height) break; \
        float *row = c + (r) * ldc; \
        if (add_to_c) { \
            low = _mm512_add_ps(_mm512_loadu_ps(row), low); \
            high = _mm512_add_ps(_mm512_loadu_ps(row + 16), high); \
        } \
        _mm512_storeu_ps(row, low); _mm512_storeu_ps(row + 16, high); \
    } while (0)
    CK_STORE_ROW(0, s00, s01); CK_STORE_ROW(1, s10, s11); CK_STORE_ROW(2, s20, s21); CK_STORE_ROW(3, s30, s31);
    CK_STORE_ROW(4, s40, s41); CK_STORE_ROW(5, s50, s51); CK_STORE_ROW(6, s60, s61); CK_STORE_ROW(7, s70, s71);
#undef CK_STORE_ROW
}
#endif
