/* net_blas.c: OpenBLAS's kernel choice on CPUs it does not know (see net_blas.h). */
#include "net_blas.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* OpenBLAS 0.3.21's x86-64 kernel sets that use AVX2 or wider; any other
 * name on an AVX2 CPU is a fallback (Prescott, Core2, Nehalem, Sandybridge...). */
static int uses_avx2(const char *core)
{
    static const char *const fast[] = {"Haswell", "Zen", "SkylakeX", "Cooperlake", "SapphireRapids"};
    for (size_t i = 0; i < sizeof fast / sizeof fast[0]; i++)
        if (core && strcmp(core, fast[i]) == 0) return 1;
    return 0;
}

const char *net_blas_plan(const char *loaded, NetCpuLevel cpu, const char *coretype_env, const char *ld_preload)
{
    if (coretype_env && *coretype_env) return NULL;
    if (ld_preload && strstr(ld_preload, "vgpreload")) return NULL;
    if (uses_avx2(loaded)) return NULL;
    if (cpu == NET_CPU_AVX512) return "SkylakeX";
    if (cpu == NET_CPU_AVX2) return "Haswell";
    return NULL;
}

NetCpuLevel net_blas_cpu_level(void)
{
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
        return NET_CPU_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return NET_CPU_AVX2;
    return NET_CPU_BASIC;
}

void net_blas_select_kernels(char **argv)
{
    const char *want =
        net_blas_plan(net_blas_kernels(), net_blas_cpu_level(), getenv("OPENBLAS_CORETYPE"), getenv("LD_PRELOAD"));
    if (!want) return;
    if (setenv("OPENBLAS_CORETYPE", want, 1) != 0) return;
    execv("/proc/self/exe", argv);
    /* exec failed (no /proc, say): run on the loaded kernels. Leave the
     * variable set, so that programs this one starts do not try again. */
}

const char *net_blas_kernels(void)
{
    const char *name = openblas_get_corename();
    return name ? name : "unknown";
}
