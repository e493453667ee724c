// SPDX-License-Identifier: MIT
/*
 * slabinfo: the seq_file model and its two iterators, for every strategy.
 * The text is the same whatever the read size, every read() returns at most
 * one 4 KiB page, every live root cache is one row, and under changes
 * between two chunks "reseek" repeats or skips exactly one row per
 * insertion or deletion ahead of the reader while "cursor" does neither.
 */
#include "ks_test.h"

#include <errno.h>
#include <kscale/slab.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cell {
	const char *strategy;
	const char *iter;
};

struct fx {
	struct ks_test_env e;
	struct ks_slab_sys *s;
	const struct cell *cell;
	struct ks_kmem_cache *c[256];
	int nc;
};

static void fx_init(struct fx *f, void **state)
{
	struct ks_slab_opts o = { 0 };
	int r = ks_rcu_register_thread();

	assert_true(r == 0 || r == -EALREADY);
	memset(f, 0, sizeof(*f));
	f->cell = *state;
	ks_test_env_init(&f->e, "synthetic:core:2 pu:1");
	o.topo = f->e.topo;
	o.locks = f->e.locks;
	o.mem = f->e.mem;
	assert_int_equal(ks_slab_create(f->cell->strategy, &o, &f->s), 0);
}

static void fx_add(struct fx *f, int n)
{
	char name[64];

	for (int i = 0; i < n; i++) {
		int k = f->nc;

		/* names longer than the 17-column field push the columns right */
		snprintf(name, sizeof(name), k % 7 ? "cache%d" : "a_rather_long_cache_name_%d", k);
		assert_int_equal(ks_kmem_cache_create(f->s, name, 8 + (size_t)(k % 50) * 24, 0,
						      0, &f->c[f->nc++]), 0);
	}
}

static void fx_fini(struct fx *f)
{
	ks_slab_destroy(f->s);
	ks_test_env_fini(&f->e);
}

/* Read to end of file with reads of @len; every read() <= 4096 bytes. */
static char *read_all(struct ks_slabinfo *fi, size_t len, size_t *out_len)
{
	size_t cap = 1 << 20, used = 0;
	char *text = malloc(cap), *buf = malloc(len);
	ssize_t n;

	assert_non_null(text);
	assert_non_null(buf);
	while ((n = ks_slabinfo_read(fi, buf, len)) > 0) {
		assert_true(n <= 4096);
		assert_true((size_t)n <= len);
		assert_true(used + (size_t)n < cap);
		memcpy(text + used, buf, (size_t)n);
		used += (size_t)n;
	}
	assert_int_equal(n, 0);
	text[used] = 0;
	free(buf);
	*out_len = used;
	return text;
}

static int count_rows(const char *text, const char *name)
{
	struct ks_slabinfo_row row;
	const char *p = text;
	int rows = 0, named = 0;
	char line[512];

	assert_memory_equal(text, ks_slabinfo_header, strlen(ks_slabinfo_header));
	p += strlen(ks_slabinfo_header);
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t l;

		assert_non_null(nl);
		l = (size_t)(nl - p);
		assert_true(l < sizeof(line));
		memcpy(line, p, l);
		line[l] = 0;
		assert_int_equal(ks_slabinfo_parse_row(line, &row), 0);
		assert_true(row.active_objs <= row.num_objs);
		assert_int_equal(row.num_objs, row.num_slabs * row.objperslab);
		assert_int_equal(row.active_slabs, row.num_slabs);
		if (name && !strcmp(row.name, name))
			named++;
		rows++;
		p = nl + 1;
	}
	return name ? named : rows;
}

/* active_objs of the row named @name, 0 if there is none. */
static int64_t row_active(const char *text, const char *name)
{
	struct ks_slabinfo_row r;
	char pat[80], line[512];
	const char *p;
	size_t l;

	snprintf(pat, sizeof(pat), "\n%s ", name);
	p = strstr(text, pat);
	if (!p)
		return 0;
	l = (size_t)(strchr(p + 1, '\n') - (p + 1));
	memcpy(line, p + 1, l);
	line[l] = 0;
	assert_int_equal(ks_slabinfo_parse_row(line, &r), 0);
	return (int64_t)r.active_objs;
}

static void test_parse_row(void **state)
{
	struct ks_slabinfo_row r;
	const char *hdr2 = strchr(ks_slabinfo_header, '\n') + 1;

	(void)state;
	assert_int_equal(ks_slabinfo_parse_row("kmalloc-cg-64        128    128     64   64    1 : "
					       "tunables    0    0    0 : slabdata      2      2      0\n",
					       &r), 0);
	assert_string_equal(r.name, "kmalloc-cg-64");
	assert_int_equal(r.active_objs, 128);
	assert_int_equal(r.objsize, 64);
	assert_int_equal(r.num_slabs, 2);
	assert_int_equal(ks_slabinfo_parse_row(ks_slabinfo_header, &r), -EINVAL);
	assert_int_equal(ks_slabinfo_parse_row(hdr2, &r), -EINVAL);
	assert_int_equal(ks_slabinfo_parse_row("x 1 1 1 1 1 : tunables 0 0 0 : slabdata 1 1", &r),
			 -EINVAL);
	assert_int_equal(ks_slabinfo_parse_row("x 1 1 1 1 1 : tunables 0 0 0 : slabdata 1 1 0 9",
					       &r), -EINVAL);
	assert_int_equal(ks_slabinfo_parse_row("x 1 1 1 1 1 ; tunables 0 0 0 : slabdata 1 1 0",
					       &r), -EINVAL);
	assert_int_equal(ks_slabinfo_parse_row("x 1 1 1 1 1 : tunable 0 0 0 : slabdata 1 1 0",
					       &r), -EINVAL);
	assert_int_equal(ks_slabinfo_parse_row("x 1 -1 1 1 1 : tunables 0 0 0 : slabdata 1 1 0",
					       &r), -EINVAL);
	assert_int_equal(ks_slabinfo_parse_row("x 1 1 99999999999 1 1 : tunables 0 0 0 : "
					       "slabdata 1 1 0", &r), -EINVAL);
	assert_int_equal(ks_slabinfo_parse_row("x_123456789_123456789_123456789_123456789_123456789_"
					       "123456789_1234 1 1 1 1 1 : tunables 0 0 0 : "
					       "slabdata 1 1 0", &r), -ENAMETOOLONG);
	assert_int_equal(ks_slabinfo_parse_row(NULL, &r), -EINVAL);
	assert_int_equal(ks_slabinfo_parse_row("x", NULL), -EINVAL);
}

/* Every root once, children summed in, same text for any read size. */
static void test_full_read(void **state)
{
	struct ks_slabinfo *fi = NULL;
	struct ks_slabinfo_pass pass;
	struct ks_slab_stats st;
	struct ks_kmem_cache_info in;
	size_t l1, l2, l3;
	char *t1, *t2, *t3, row[512];
	uint64_t cg[3];
	void *obj[3][5];
	struct fx f;

	fx_init(&f, state);
	fx_add(&f, 150);
	for (int m = 0; m < 3; m++) {
		assert_int_equal(ks_memcg_create(f.s, 0, &cg[m]), 0);
		for (int i = 0; i < 5; i++)
			assert_int_equal(ks_kmem_cache_alloc(f.c[i], cg[m], &obj[m][i]), 0);
	}
	assert_int_equal(ks_slabinfo_open(NULL, NULL, &fi), -EINVAL);
	assert_int_equal(ks_slabinfo_open(f.s, "lseek", &fi), -ENOENT);
	assert_int_equal(ks_slabinfo_open(f.s, f.cell->iter, &fi), 0);
	assert_int_equal(ks_slabinfo_last_pass(fi, &pass), -ENODATA);
	assert_int_equal(ks_slabinfo_read(NULL, row, 1), -EINVAL);
	assert_int_equal(ks_slabinfo_read(fi, NULL, 1), -EINVAL);
	t1 = read_all(fi, 1 << 20, &l1);
	assert_true(l1 > 3 * 4096); /* several chunks */
	st = (ks_slab_stats(f.s, &st), st);
	assert_int_equal(count_rows(t1, NULL), (int)st.root_caches);
	assert_int_equal(ks_slabinfo_last_pass(fi, &pass), 0);
	assert_int_equal(pass.rows, st.root_caches);
	assert_int_equal(pass.missing, 0);
	assert_int_equal(pass.duplicates, 0);
	assert_true(pass.chunks >= 4);
	/* no child is a row; cache0's row holds its children's objects */
	assert_null(strstr(t1, "(1:cg1)"));
	assert_int_equal(count_rows(t1, "cache1"), 1);
	assert_int_equal(ks_kmem_cache_info(f.c[1], &in), 0);
	/* objcg-5.14 keeps accounted objects in the twin "cache1(cg)" */
	assert_int_equal(row_active(t1, "cache1") + row_active(t1, "cache1(cg)"),
			 in.active_objs);
	assert_true(in.active_objs >= 3);
	assert_int_equal(ks_slabinfo_rewind(fi), 0);
	t2 = read_all(fi, 1, &l2);
	assert_int_equal(l1, l2);
	assert_memory_equal(t1, t2, l1);
	assert_int_equal(ks_slabinfo_rewind(fi), 0);
	t3 = read_all(fi, 100, &l3);
	assert_int_equal(l1, l3);
	assert_memory_equal(t1, t3, l1);
	assert_int_equal(ks_slabinfo_last_pass(fi, &pass), 0);
	assert_int_equal(pass.missing + pass.duplicates, 0);
	ks_slabinfo_close(fi);
	free(t1);
	free(t2);
	free(t3);
	for (int m = 0; m < 3; m++)
		for (int i = 0; i < 5; i++)
			assert_int_equal(ks_kmem_cache_free(f.c[i], obj[m][i]), 0);
	fx_fini(&f);
}

/* Read one chunk, change the list ahead of the reader, read the rest. */
static struct ks_slabinfo_pass churn_pass(struct fx *f, struct ks_slabinfo *fi,
					  void (*change)(struct fx *f, void *arg), void *arg)
{
	static char buf[1 << 20];
	struct ks_slabinfo_pass pass;
	ssize_t n;

	assert_int_equal(ks_slabinfo_rewind(fi), 0);
	n = ks_slabinfo_read(fi, buf, sizeof(buf));
	assert_true(n > 0 && n <= 4096);
	change(f, arg);
	while ((n = ks_slabinfo_read(fi, buf, sizeof(buf))) > 0)
		;
	assert_int_equal(n, 0);
	assert_int_equal(ks_slabinfo_last_pass(fi, &pass), 0);
	return pass;
}

static void add3(struct fx *f, void *arg)
{
	(void)arg;
	fx_add(f, 3);
}

static void del3(struct fx *f, void *arg)
{
	(void)arg;
	/* the three newest: rows already shown, ahead of the reader */
	for (int i = 0; i < 3; i++)
		assert_int_equal(ks_kmem_cache_destroy(f->c[--f->nc]), 0);
}

static void child2(struct fx *f, void *arg)
{
	void **obj = arg;
	uint64_t cg;

	assert_int_equal(ks_memcg_create(f->s, 0, &cg), 0);
	assert_int_equal(ks_kmem_cache_alloc(f->c[0], cg, &obj[0]), 0);
	assert_int_equal(ks_kmem_cache_alloc(f->c[1], cg, &obj[1]), 0);
}

static void test_churn_exact(void **state)
{
	struct ks_slabinfo *fi;
	struct ks_slabinfo_pass p;
	bool reseek;
	void *obj[2];
	struct fx f;

	fx_init(&f, state);
	reseek = !strcmp(f.cell->iter, "reseek");
	fx_add(&f, 200);
	assert_int_equal(ks_slabinfo_open(f.s, f.cell->iter, &fi), 0);
	p = churn_pass(&f, fi, add3, NULL);
	/* objcg-5.14 lists a twin per cache: 3 insertions make 6 rows */
	{
		uint64_t per = strcmp(f.cell->strategy, "objcg-5.14") ? 1 : 2;

		assert_int_equal(p.duplicates, reseek ? 3 * per : 0);
		assert_int_equal(p.missing, 0);
		p = churn_pass(&f, fi, del3, NULL);
		assert_int_equal(p.missing, reseek ? 3 * per : 0);
		assert_int_equal(p.duplicates, 0);
	}
	/*
	 * Two child caches created ahead of the reader: under percache-4.10
	 * they are on slab_caches, which slabinfo walks, and shift it by two
	 * although they print nothing; later kernels walk only the roots.
	 */
	p = churn_pass(&f, fi, child2, obj);
	if (reseek && !strcmp(f.cell->strategy, "percache-4.10"))
		assert_int_equal(p.duplicates, 2);
	else
		assert_int_equal(p.duplicates, 0);
	assert_int_equal(p.missing, 0);
	/* and again after all that: the same exact count */
	p = churn_pass(&f, fi, add3, NULL);
	assert_int_equal(p.duplicates, reseek ? 3 * (strcmp(f.cell->strategy, "objcg-5.14") ? 1 : 2)
				       : 0);
	ks_slabinfo_close(fi);
	assert_int_equal(ks_kmem_cache_free(f.c[0], obj[0]), 0);
	assert_int_equal(ks_kmem_cache_free(f.c[1], obj[1]), 0);
	fx_fini(&f);
}

/* reseek's cost grows with the square of the rows, cursor's linearly. */
static void test_visits(void **state)
{
	struct ks_slabinfo *fi;
	struct ks_slabinfo_pass p;
	static char buf[1 << 20];
	struct fx f;
	size_t len;
	char *t;

	fx_init(&f, state);
	fx_add(&f, 240);
	assert_int_equal(ks_slabinfo_open(f.s, f.cell->iter, &fi), 0);
	t = read_all(fi, sizeof(buf), &len);
	free(t);
	assert_int_equal(ks_slabinfo_last_pass(fi, &p), 0);
	if (!strcmp(f.cell->iter, "cursor"))
		assert_true(p.visits <= p.rows + 2 * p.chunks);
	else
		assert_true(p.visits > p.rows * p.chunks / 3);
	ks_slabinfo_close(fi);
	fx_fini(&f);
}

static const struct cell cells[] = {
	{ "percache-4.10", "reseek" }, { "percache-4.10", "cursor" },
	{ "lists-4.11", "reseek" },    { "lists-4.11", "cursor" },
	{ "objcg-5.9", "reseek" },     { "objcg-5.9", "cursor" },
	{ "objcg-5.14", "reseek" },    { "objcg-5.14", "cursor" },
	{ "call-rcu-only", "reseek" }, { "call-rcu-only", "cursor" },
};

#define PER_CELL(fn)                                                                    \
	cmocka_unit_test_prestate(fn, (void *)&cells[0]),                               \
	cmocka_unit_test_prestate(fn, (void *)&cells[1]),                               \
	cmocka_unit_test_prestate(fn, (void *)&cells[2]),                               \
	cmocka_unit_test_prestate(fn, (void *)&cells[3]),                               \
	cmocka_unit_test_prestate(fn, (void *)&cells[4]),                               \
	cmocka_unit_test_prestate(fn, (void *)&cells[5]),                               \
	cmocka_unit_test_prestate(fn, (void *)&cells[6]),                               \
	cmocka_unit_test_prestate(fn, (void *)&cells[7]),                               \
	cmocka_unit_test_prestate(fn, (void *)&cells[8]),                               \
	cmocka_unit_test_prestate(fn, (void *)&cells[9])

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_row),
		PER_CELL(test_full_read),
		PER_CELL(test_churn_exact),
		PER_CELL(test_visits),
	};
	size_t n = 0;

	assert_non_null(ks_slabinfo_iterators(&n));
	assert_int_equal(n, 2);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
