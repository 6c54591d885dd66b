/* cpu.h — private to core/base, core/wire and their tests: which optional CPU instructions may be
 * used, and awsbox's own AES-CTR and GHASH for arm64, where BearSSL has none. */
#ifndef AWSBOX_CPU_H
#define AWSBOX_CPU_H
#include "base.h"

#include <bearssl.h>
#if defined(__aarch64__)
#include <sys/auxv.h> /* HWCAP_* */
#endif

/* arm64: getauxval(AT_HWCAP) (HWCAP_AES, HWCAP_PMULL, HWCAP_CRC32 ...) ANDed with AWSBOX_HWCAP
 * when that is set (a number; 0 takes every extension away, as on a CPU without them: tests).
 * Probed once; safe from any thread. 0 elsewhere. */
unsigned long cpu_hwcap(void);

/* x86-64: the vector extensions beyond SSE that awsbox's code may use (CPUID leaves 1 and 7), each
 * only where the OS also saves the registers it needs (XGETBV: ymm for AVX2, VAES and VPCLMULQDQ;
 * zmm and the opmasks for AVX-512). Probed once; safe from any thread. 0 elsewhere. */
#define CPU_X86_AVX2 0x01u
#define CPU_X86_AVX512 0x02u /* F, BW, VL and DQ, all four */
#define CPU_X86_VAES 0x04u
#define CPU_X86_VPCLMUL 0x08u
unsigned cpu_x86(void);

/* A run-time choice of code that tests and benchmarks may force (crc_use_wide, sha256_use_hw):
 * *slot is -1 until it is first asked. want 0: never, 1: where have() says the CPU can, -1: just
 * ask (have() is probed once). Safe from any thread. */
int cpu_choice(int *slot, int want, int (*have)(void));

/* AES-CTR and GHASH (BearSSL's br_ghash contract) with the ARMv8 AES and PMULL instructions, for
 * BearSSL's AES-GCM; NULL where the CPU has none, or is no arm64 (tls.c picks among these and
 * the x86-64 ones, else BearSSL's constant-time portable code runs). */
const br_block_ctr_class *aes_ctr_arm_get(void);
br_ghash ghash_arm_get(void);

#endif
