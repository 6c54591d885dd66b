/* cpu.h — private to tls.c, aesctr.c, sum.c and their tests: which optional CPU instructions may be used,
 * and awsbox's own AES-CTR and GHASH for arm64, where BearSSL has none. */
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

/* x86-64: CPUID leaf 7's feature bits, EBX's in the low 32 bits (bit_AVX2, bit_AVX512F ...) and
 * ECX's in the high (bit_VAES, bit_VPCLMULQDQ ...), as far as the OS lets them run: 0 unless it
 * saves the YMM state (XCR0 bits 1, 2), and no bit_AVX512F unless the opmask and ZMM state too
 * (bits 5, 6, 7), so 512-bit code checks bit_AVX512F. Probed once; safe from any thread. 0 elsewhere. */
uint64_t cpu_x86_leaf7(void);

/* AES-CTR and GHASH (BearSSL's br_ghash contract) with the ARMv8 AES and PMULL instructions, for
 * BearSSL's AES-GCM; NULL where the CPU has none, or is no arm64 (tls.c picks among these and
 * the x86-64 ones, else BearSSL's constant-time portable code runs). */
const br_block_ctr_class *aes_ctr_arm_get(void);
br_ghash ghash_arm_get(void);

#endif
