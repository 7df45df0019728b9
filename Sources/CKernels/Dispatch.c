/* Which instruction-set paths this CPU can run. */
#include "Internal.h"
#if defined(__GLIBC__)
#include <malloc.h>
#endif

int ck_path_supported(int path) {
    switch (path) {
    case CK_PATH_SCALAR:
        return 1;
#if CK_X86
    case CK_PATH_AVX2:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case CK_PATH_AVX512:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
            && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl")
            && __builtin_cpu_supports("avx512vnni");
#endif
    default:
        return 0;
    }
}

int ck_best_path(void) {
    if (ck_path_supported(CK_PATH_AVX512)) return CK_PATH_AVX512;
    if (ck_path_supported(CK_PATH_AVX2)) return CK_PATH_AVX2;
    return CK_PATH_SCALAR;
}

static int selected_path = -1;

int ck_selected_path(void) { return __atomic_load_n(&selected_path, __ATOMIC_ACQUIRE); }
void ck_select_path(int path) { __atomic_store_n(&selected_path, path, __ATOMIC_RELEASE); }
const char *ck_environment_value(const char *name) { return getenv(name); }

void ck_keep_freed_memory(void) {
#if defined(__GLIBC__)
    mallopt(M_MMAP_THRESHOLD, 1 << 30);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
}
