/* net_blas.h: make sure the training GEMMs run on OpenBLAS's kernels for this CPU.
 *
 * Debian 12's OpenBLAS (0.3.21, DYNAMIC_ARCH) picks its kernel set from the
 * CPU's family and model number when the library loads. It does not know CPUs
 * released after it: on a Xeon of model 0xCF (Emerald Rapids: AVX-512, AVX2)
 * it falls back to "Prescott", its SSE3 kernels, and a training step runs at
 * 46 images/s instead of 129 (emotrain --bench, batch 64, 2 threads; the
 * GEMMs are 60% of a step). The only override OpenBLAS offers is the
 * OPENBLAS_CORETYPE environment variable, and it is read once, when the
 * library loads, before main() runs. So a program that finds the fallback
 * sets it and executes itself again.
 *
 * Rules (net_blas_plan, kept pure so a test can check every case):
 *   - OPENBLAS_CORETYPE already set: the user's choice (or our re-run) stands;
 *   - the loaded kernels already use AVX2 or better: nothing to do;
 *   - the CPU has AVX-512 (F, BW, DQ, VL): "SkylakeX"; AVX2 and FMA: "Haswell";
 *     otherwise nothing (the fallback is then the right choice);
 *   - under valgrind (LD_PRELOAD names its preload library) nothing: the
 *     re-run would leave valgrind, and valgrind runs no AVX-512 anyway. */
#ifndef NET_BLAS_H
#define NET_BLAS_H

/* What the CPU offers, as far as the kernel choice is concerned. */
typedef enum { NET_CPU_BASIC, NET_CPU_AVX2, NET_CPU_AVX512 } NetCpuLevel;

/* The kernel set to ask OpenBLAS for ("SkylakeX" or "Haswell"), or NULL to
 * keep what it loaded. `coretype_env` and `ld_preload` are the values of
 * those environment variables (NULL when unset); `loaded` is
 * openblas_get_corename(). */
const char *net_blas_plan(const char *loaded, NetCpuLevel cpu, const char *coretype_env, const char *ld_preload);

/* This CPU's level (from CPUID through the compiler's builtins). */
NetCpuLevel net_blas_cpu_level(void);

/* Call first in main(): if net_blas_plan() asks for other kernels, sets
 * OPENBLAS_CORETYPE and executes /proc/self/exe with the same argv (no
 * return). If that exec fails, returns and the program runs on the loaded
 * kernels, only slower. */
void net_blas_select_kernels(char **argv);

/* The name of the kernel set OpenBLAS is using, e.g. "SkylakeX". */
const char *net_blas_kernels(void);

#endif
