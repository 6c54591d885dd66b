/* cpu.h — private to tls.c, sum.c and their tests: which optional CPU instructions may be used,
 * and awsbox's own AES-CTR and GHASH for CPUs where BearSSL has none (arm64). */
#ifndef AWSBOX_CPU_H
#define AWSBOX_CPU_H
#include "core.h"

#include <bearssl.h>
#if defined(__aarch64__)
#include <sys/auxv.h> /* HWCAP_* */
#endif

/* arm64: getauxval(AT_HWCAP) (HWCAP_AES, HWCAP_PMULL, HWCAP_CRC32 ...) ANDed with AWSBOX_HWCAP
 * when that is set (a number; 0 takes every extension away, as on a CPU without them: tests).
 * Probed once; safe from any thread. 0 elsewhere. */
unsigned long cpu_hwcap(void);

/* The fastest AES-CTR and GHASH this CPU has, for AES-GCM: BearSSL's AES-NI and PCLMUL ones on
 * x86-64, ours with the ARMv8 AES and PMULL instructions on arm64; NULL where there are none
 * (BearSSL's constant-time portable code is then used). */
const br_block_ctr_class *aes_ctr_fast(void);
br_ghash ghash_fast(void);

#endif
