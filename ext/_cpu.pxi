# CPU feature detection for the run-time SIMD dispatch (fastact/_dispatch.py).
#
# Included by _api.pyx.tp, which is compiled with the baseline flags only, so
# this code runs on any x86 CPU. What it relies on:
#
# * gcc/clang's __builtin_cpu_supports() for the CPUID feature bits. Recent
#   libgcc (and compiler-rt) already clear AVX/AVX2/FMA/AVX-512 when the OS has
#   not enabled the register state, but older ones did not, so we do not
#   rely on that:
# * XGETBV ourselves: CPUID.1:ECX.OSXSAVE says the OS uses XSAVE (and XGETBV
#   may be executed); XCR0 bits 1-2 (SSE, YMM state) must be set for AVX/AVX2/
#   FMA, and bits 5-7 (opmask, ZMM_Hi256, Hi16_ZMM) too for AVX-512. A CPU
#   with AVX-512 under an OS or hypervisor that does not save the ZMM state
#   would otherwise fault (or corrupt registers) in the AVX-512 kernels.
#   macOS enables the AVX-512 state lazily on first use, so XCR0 does not show
#   it; there, as compiler-rt does, the CPUID bits alone decide.
#
# Other compilers or architectures: no x86 features, i.e. baseline kernels.

cdef extern from *:
    """
    #if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
    #include <cpuid.h>
    #define FASTACT_CPU_X86 1

    static unsigned long long fastact_xcr0(void) {
        unsigned int eax = 0, ebx = 0, ecx = 0, edx = 0, lo = 0, hi = 0;
        if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
        if (!(ecx & (1u << 27))) return 0;  /* OSXSAVE clear: XGETBV would fault */
        /* xgetbv with ecx = 0, as bytes: assemblers without XSAVE support work too */
        __asm__ __volatile__(".byte 0x0f, 0x01, 0xd0" : "=a"(lo), "=d"(hi) : "c"(0));
        return ((unsigned long long) hi << 32) | lo;
    }

    static int fastact_cpu_feature(int which) {
        __builtin_cpu_init();
        switch (which) {
        case 0: return __builtin_cpu_supports("sse2") != 0;
        case 1: return __builtin_cpu_supports("avx") != 0;
        case 2: return __builtin_cpu_supports("avx2") != 0;
        case 3: return __builtin_cpu_supports("fma") != 0;
        case 4: return __builtin_cpu_supports("avx512f") != 0;
        case 5: return __builtin_cpu_supports("avx512dq") != 0;
        case 6: return __builtin_cpu_supports("avx512vl") != 0;
        case 7: return __builtin_cpu_supports("avx512bw") != 0;
        }
        return 0;
    }

    static int fastact_os_avx(void) {
        return (fastact_xcr0() & 0x6) == 0x6;                 /* XMM | YMM */
    }

    static int fastact_os_avx512(void) {
    #if defined(__APPLE__)
        return fastact_os_avx();
    #else
        return (fastact_xcr0() & 0xe6) == 0xe6;               /* + opmask, ZMM */
    #endif
    }
    #else
    #define FASTACT_CPU_X86 0
    static int fastact_cpu_feature(int which) { (void) which; return 0; }
    static int fastact_os_avx(void) { return 0; }
    static int fastact_os_avx512(void) { return 0; }
    #endif
    """
    const int FASTACT_CPU_X86
    int fastact_cpu_feature(int which) noexcept nogil
    int fastact_os_avx() noexcept nogil
    int fastact_os_avx512() noexcept nogil


_CPU_FEATURE_NAMES = ("sse2", "avx", "avx2", "fma", "avx512f", "avx512dq", "avx512vl",
                      "avx512bw")


def _cpu_features():
    """The CPU's SIMD features as {name: bool}, for fastact._dispatch.

    'x86' says whether detection ran (gcc/clang on x86); 'os_avx' and
    'os_avx512' whether the OS saves the YMM / ZMM register state (XGETBV).
    """
    features = {"x86": bool(FASTACT_CPU_X86)}
    for i, name in enumerate(_CPU_FEATURE_NAMES):
        features[name] = bool(fastact_cpu_feature(i))
    features["os_avx"] = bool(fastact_os_avx())
    features["os_avx512"] = bool(fastact_os_avx512())
    return features
