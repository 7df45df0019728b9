/*
 * Peak loops: 12 independent multiply-add chains, long enough to hide the
 * instruction latency, so the loop runs at the machine's issue rate for that
 * instruction. The bench divides operations by time to get this core's peak.
 */
#include "Internal.h"

static const long scalar_operations = 12;

long ck_peak_operations_per_iteration(int path, int kind) {
    switch (path) {
    case CK_PATH_AVX512: return 12 * (kind == CK_PEAK_FP32 ? 16 : kind == CK_PEAK_INT8 ? 64 : 32);
    case CK_PATH_AVX2: return 12 * (kind == CK_PEAK_FP32 ? 8 : 16);
    default: return scalar_operations;
    }
}

const char *ck_peak_instruction(int path, int kind) {
    switch (path) {
    case CK_PATH_AVX512: return kind == CK_PEAK_FP32 ? "vfmadd231ps zmm" : kind == CK_PEAK_INT8 ? "vpdpbusd zmm" : "vpdpwssd zmm";
    case CK_PATH_AVX2: return kind == CK_PEAK_FP32 ? "vfmadd231ps ymm" : "vpmaddwd+vpaddd ymm";
    default: return kind == CK_PEAK_FP32 ? "scalar float multiply-add" : "scalar int64 multiply-add";
    }
}

static double peak_loop_scalar(int kind, long iterations) {
    if (kind == CK_PEAK_FP32) {
        volatile float seed = 1.0f;
        float x = seed * 0.999f, s[12];
        for (int i = 0; i < 12; i++) s[i] = seed * i;
        for (long n = 0; n < iterations; n++)
            for (int i = 0; i < 12; i++) s[i] = s[i] * x + 0.5f;
        double total = 0;
        for (int i = 0; i < 12; i++) total += s[i];
        return total;
    }
    volatile int64_t seed = 3;
    int64_t x = seed, s[12];
    for (int i = 0; i < 12; i++) s[i] = seed + i;
    for (long n = 0; n < iterations; n++)
        for (int i = 0; i < 12; i++) s[i] += x * (s[i] & 0xff);
    double total = 0;
    for (int i = 0; i < 12; i++) total += (double)s[i];
    return total;
}

double ck_peak_loop(int path, int kind, long iterations) {
#if CK_X86
    if (path == CK_PATH_AVX512 && ck_path_supported(path)) return ck_peak_loop_avx512(kind, iterations);
    if (path == CK_PATH_AVX2 && ck_path_supported(path)) return ck_peak_loop_avx2(kind, iterations);
#endif
    (void)path;
    return peak_loop_scalar(kind, iterations);
}

#if CK_X86

#define CK_TWELVE(step) step(0) step(1) step(2) step(3) step(4) step(5) step(6) step(7) step(8) step(9) step(10) step(11)

CK_TARGET_AVX512
double ck_peak_loop_avx512(int kind, long iterations) {
    volatile int seed = 1;
    if (kind == CK_PEAK_FP32) {
        __m512 x = _mm512_set1_ps(0.999f * seed), y = _mm512_set1_ps(0.001f * seed);
#define CK_DECLARE(i) __m512 s##i = _mm512_set1_ps((float)(i + seed));
        CK_TWELVE(CK_DECLARE)
#undef CK_DECLARE
        for (long n = 0; n < iterations; n++) {
#define CK_STEP(i) s##i = _mm512_fmadd_ps(s##i, x, y);
            CK_TWELVE(CK_STEP)
#undef CK_STEP
            __asm__ volatile("" ::: "memory");
        }
        __m512 total = _mm512_setzero_ps();
#define CK_SUM(i) total = _mm512_add_ps(total, s##i);
        CK_TWELVE(CK_SUM)
#undef CK_SUM
        return _mm512_reduce_add_ps(total);
    }
    __m512i x = _mm512_set1_epi32(0x01010101 * seed), y = _mm512_set1_epi32(0x00030003 * seed);
#define CK_DECLARE(i) __m512i s##i = _mm512_set1_epi32(i + seed);
    CK_TWELVE(CK_DECLARE)
#undef CK_DECLARE
    if (kind == CK_PEAK_INT8) {
        for (long n = 0; n < iterations; n++) {
#define CK_STEP(i) s##i = _mm512_dpbusd_epi32(s##i, x, y);
            CK_TWELVE(CK_STEP)
#undef CK_STEP
            __asm__ volatile("" ::: "memory");
        }
    } else {
        for (long n = 0; n < iterations; n++) {
#define CK_STEP(i) s##i = _mm512_dpwssd_epi32(s##i, x, y);
            CK_TWELVE(CK_STEP)
#undef CK_STEP
            __asm__ volatile("" ::: "memory");
        }
    }
    __m512i total = _mm512_setzero_si512();
#define CK_SUM(i) total = _mm512_add_epi32(total, s##i);
    CK_TWELVE(CK_SUM)
#undef CK_SUM
    return (double)_mm512_reduce_add_epi32(total);
}

CK_TARGET_AVX2
double ck_peak_loop_avx2(int kind, long iterations) {
    volatile int seed = 1;
    if (kind == CK_PEAK_FP32) {
        __m256 x = _mm256_set1_ps(0.999f * seed), y = _mm256_set1_ps(0.001f * seed);
#define CK_DECLARE(i) __m256 s##i = _mm256_set1_ps((float)(i + seed));
        CK_TWELVE(CK_DECLARE)
#undef CK_DECLARE
        for (long n = 0; n < iterations; n++) {
#define CK_STEP(i) s##i = _mm256_fmadd_ps(s##i, x, y);
            CK_TWELVE(CK_STEP)
#undef CK_STEP
            __asm__ volatile("" ::: "memory");
        }
        float lanes[8];
        __m256 total = _mm256_setzero_ps();
#define CK_SUM(i) total = _mm256_add_ps(total, s##i);
        CK_TWELVE(CK_SUM)
#undef CK_SUM
        _mm256_storeu_ps(lanes, total);
        return lanes[0] + lanes[7];
    }
    __m256i x = _mm256_set1_epi32(0x00010001 * seed), y = _mm256_set1_epi32(0x00030003 * seed);
#define CK_DECLARE(i) __m256i s##i = _mm256_set1_epi32(i + seed);
    CK_TWELVE(CK_DECLARE)
#undef CK_DECLARE
    for (long n = 0; n < iterations; n++) {
#define CK_STEP(i) s##i = _mm256_add_epi32(_mm256_madd_epi16(s##i, y), x);
        CK_TWELVE(CK_STEP)
#undef CK_STEP
        __asm__ volatile("" ::: "memory");
    }
    int32_t lanes[8];
    __m256i total = _mm256_setzero_si256();
#define CK_SUM(i) total = _mm256_add_epi32(total, s##i);
    CK_TWELVE(CK_SUM)
#undef CK_SUM
    _mm256_storeu_si256((__m256i *)lanes, total);
    return (double)lanes[0] + lanes[7];
}
#endif
