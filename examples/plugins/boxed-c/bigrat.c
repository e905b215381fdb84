#include "bigrat.h"

#include <stdlib.h>
#include <string.h>

#define BASE 1000000000u

/* Every limb array of one call is kept in a list and freed at once. */
static void **blocks;
static size_t nblocks, capblocks;

static uint32_t *alloc_limbs(size_t n) {
	if (nblocks == capblocks) {
		size_t c = capblocks ? capblocks * 2 : 16;
		void **b = realloc(blocks, c * sizeof *b);
		if (!b)
			return NULL;
		blocks = b;
		capblocks = c;
	}
	uint32_t *p = calloc(n ? n : 1, sizeof *p);
	if (p)
		blocks[nblocks++] = p;
	return p;
}

void rat_reset(void) {
	for (size_t i = 0; i < nblocks; i++)
		free(blocks[i]);
	nblocks = 0;
}

static void trim(nat *x) {
	while (x->n && x->d[x->n - 1] == 0)
		x->n--;
}

static int nat_mul(nat *z, const nat *x, const nat *y) {
	if (!x->n || !y->n) {
		z->n = 0;
		z->d = NULL;
		return 0;
	}
	uint32_t *d = alloc_limbs(x->n + y->n);
	if (!d)
		return -1;
	for (size_t i = 0; i < x->n; i++) {
		uint64_t carry = 0;
		for (size_t j = 0; j < y->n; j++) {
			uint64_t t = (uint64_t)x->d[i] * y->d[j] + d[i + j] + carry;
			d[i + j] = (uint32_t)(t % BASE);
			carry = t / BASE;
		}
		d[i + y->n] = (uint32_t)carry;
	}
	z->d = d;
	z->n = x->n + y->n;
	trim(z);
	return 0;
}

static int nat_equal(const nat *x, const nat *y) {
	return x->n == y->n && (x->n == 0 || memcmp(x->d, y->d, x->n * sizeof *x->d) == 0);
}

int rat_decimal(rat *r, const char *digits, size_t n, size_t frac_digits) {
	r->neg = 0;
	size_t limbs = n / 9 + 1;
	r->num.d = alloc_limbs(limbs);
	r->den.d = alloc_limbs(frac_digits / 9 + 1);
	if (!r->num.d || !r->den.d)
		return -1;
	/* Limb k holds the digits [n-9(k+1), n-9k). */
	for (size_t k = 0; k < limbs; k++) {
		size_t hi = n >= 9 * k ? n - 9 * k : 0;
		size_t lo = hi >= 9 ? hi - 9 : 0;
		uint32_t v = 0;
		for (size_t i = lo; i < hi; i++)
			v = v * 10 + (uint32_t)(digits[i] - '0');
		r->num.d[k] = v;
	}
	r->num.n = limbs;
	trim(&r->num);
	uint32_t p = 1;
	for (size_t i = 0; i < frac_digits % 9; i++)
		p *= 10;
	r->den.d[frac_digits / 9] = p;
	r->den.n = frac_digits / 9 + 1;
	return 0;
}

int rat_quo(rat *r, const rat *a, const rat *b) {
	rat q;
	q.neg = a->neg != b->neg;
	if (nat_mul(&q.num, &a->num, &b->den) || nat_mul(&q.den, &a->den, &b->num))
		return -1;
	*r = q;
	return 0;
}

int rat_is_zero(const rat *r) { return r->num.n == 0; }

int rat_equal(const rat *a, const rat *b) {
	if (rat_is_zero(a) || rat_is_zero(b))
		return rat_is_zero(a) && rat_is_zero(b);
	if (a->neg != b->neg)
		return 0;
	nat x, y;
	if (nat_mul(&x, &a->num, &b->den) || nat_mul(&y, &b->num, &a->den))
		return 0;
	return nat_equal(&x, &y);
}
