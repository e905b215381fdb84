/* Exact rationals for the boxed verifier. Answers only ever divide and
 * negate decimals (a/b, \frac{a}{b}, nested fractions), so a rational is a
 * sign with an unreduced numerator and denominator, and equality is a
 * cross-multiplication: no addition, no gcd. Magnitudes are arbitrary
 * precision (base 10^9 limbs), as in the native verifier's math/big, so
 * that "123456789012345678901" and "123456789012345678902" differ. */
#ifndef REWIND_BIGRAT_H
#define REWIND_BIGRAT_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
	uint32_t *d; /* little-endian base-10^9 limbs, no leading zero limbs */
	size_t n;    /* 0 means zero */
} nat;

typedef struct {
	int neg;
	nat num, den; /* den is never zero */
} rat;

/* The memory of every nat lives until rat_reset. */
void rat_reset(void);

/* rat_decimal sets r to digits/10^frac_digits, where digits are ASCII
 * decimal digits (leading zeros allowed). It returns -1 when out of memory. */
int rat_decimal(rat *r, const char *digits, size_t n, size_t frac_digits);

/* rat_quo sets r = a/b; b must not be zero. */
int rat_quo(rat *r, const rat *a, const rat *b);

int rat_is_zero(const rat *r);
int rat_equal(const rat *a, const rat *b);

#endif
