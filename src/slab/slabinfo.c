// SPDX-License-Identifier: MIT
/*
 * /proc/slabinfo through a model of fs/seq_file.c.
 *
 * seq_read_iter() (fs/seq_file.c, Linux 5.10+; v4.10's seq_read() has the
 * same shape) fills a PAGE_SIZE buffer per read(): start(&m->index), show
 * records until the buffer or the caller's count is full, stop(). Every read
 * re-enters start() with the position of the next record, so the iterator
 * decides what a position means:
 *
 *  - "reseek": the kernel's seq_list_start()/seq_list_next() under
 *    slab_mutex (mm/slab_common.c slab_start(), slab_next(), slab_stop()):
 *    walk from the list head, skipping m->index entries. O(index) per chunk;
 *    an insertion ahead of the reader between two chunks repeats a row, a
 *    deletion ahead of it skips one.
 *  - "cursor": a cursor entry kept in the list between chunks, as
 *    /proc/<pid>/mounts does since Linux 5.8 (Miklos Szeredi, "proc/mounts:
 *    add cursor", 9f6c61f96f2d) and dcache_readdir() does with its cursor
 *    dentry. A chunk resumes after the cursor: O(1) per chunk, and a row is
 *    neither repeated nor skipped. Beyond the kernel for slabinfo.
 *
 * slab_show() (mm/slab_common.c) prints the header with the first list entry
 * and a row per root cache, the counts of its per-memcg children summed in
 * (memcg_accumulate_slabinfo()). Under percache-4.10 the list holds the
 * children too: they print nothing but take a position.
 *
 * Each pass (offset 0 to end of file) is checked: rows of caches that were
 * alive for the whole pass but not shown are "missing", rows shown twice are
 * "duplicates". Rows are identified by the cache's serial, which is never
 * reused.
 */
#include "slab_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char ks_slabinfo_header[] =
	"slabinfo - version: 2.1\n"
	"# name            <active_objs> <num_objs> <objsize> <objperslab> "
	"<pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata "
	"<active_slabs> <num_slabs> <sharedavail>\n";

struct shown {
	uint64_t serial;
	size_t off;
};

struct seq_iter_ops;

struct ks_slabinfo {
	struct ks_slab_sys *s;
	const struct seq_iter_ops *it;
	struct ks_list *list;
	/* struct seq_file */
	char *buf;
	size_t size, count, from;
	int64_t index;
	/* the cursor */
	struct klink cursor;
	bool cursor_linked;
	/* the pass */
	bool in_pass, need_gen;
	uint64_t gen0;
	struct shown *log;
	size_t nlog, caplog;
	struct ks_slabinfo_pass cur, last;
	bool have_last;
};

struct seq_iter_ops {
	struct ks_strategy_info info;
	struct klink *(*start)(struct ks_slabinfo *f, int64_t *pos);
	struct klink *(*next)(struct ks_slabinfo *f, struct klink *p, int64_t *pos);
	void (*stop)(struct ks_slabinfo *f, struct klink *p);
};

/* ---- list helpers: cursors (owner NULL) are skipped by everyone ----------- */

static struct klink *real_after(struct ks_slabinfo *f, struct ks_list *l)
{
	for (; l != f->list; l = l->next) {
		struct klink *k = ks_list_entry(l, struct klink, node);

		if (k->owner)
			return k;
	}
	return NULL;
}

static void pass_start_locked(struct ks_slabinfo *f)
{
	if (f->need_gen) {
		f->gen0 = f->s->root_gen;
		f->need_gen = false;
	}
}

static void visit(struct ks_slabinfo *f, uint64_t n)
{
	f->cur.visits += n;
	KS_ADD(&f->s->slabinfo_visits, n);
}

/* ---- reseek: seq_list_start() / seq_list_next() ------------------------- */

static struct klink *reseek_start(struct ks_slabinfo *f, int64_t *pos)
{
	int64_t n = *pos;

	ks_mutex_lock(&f->s->slab_mutex);
	pass_start_locked(f);
	for (struct ks_list *l = f->list->next; l != f->list; l = l->next) {
		struct klink *k = ks_list_entry(l, struct klink, node);

		if (!k->owner)
			continue;
		visit(f, 1);
		if (n-- == 0)
			return k;
	}
	return NULL;
}

static struct klink *reseek_next(struct ks_slabinfo *f, struct klink *p, int64_t *pos)
{
	++*pos;
	visit(f, 1);
	return real_after(f, p->node.next);
}

static void reseek_stop(struct ks_slabinfo *f, struct klink *p)
{
	(void)p;
	ks_mutex_unlock(&f->s->slab_mutex);
}

/* ---- cursor --------------------------------------------------------------- */

static struct klink *cursor_start(struct ks_slabinfo *f, int64_t *pos)
{
	ks_mutex_lock(&f->s->slab_mutex);
	pass_start_locked(f);
	if (*pos == 0 || !f->cursor_linked) {
		if (f->cursor_linked)
			ks_list_del(&f->cursor.node);
		ks_list_add(&f->cursor.node, f->list);
		f->cursor_linked = true;
	}
	visit(f, 1);
	return real_after(f, f->cursor.node.next);
}

static struct klink *cursor_next(struct ks_slabinfo *f, struct klink *p, int64_t *pos)
{
	++*pos;
	visit(f, 1);
	return real_after(f, p->node.next);
}

/* The cursor goes just before @p, the next record to show, or to the end. */
static void cursor_stop(struct ks_slabinfo *f, struct klink *p)
{
	ks_list_del(&f->cursor.node);
	if (p)
		ks_list_add_tail(&f->cursor.node, &p->node);
	else
		ks_list_add_tail(&f->cursor.node, f->list);
	ks_mutex_unlock(&f->s->slab_mutex);
}

static const struct seq_iter_ops iters[] = {
	{ { "reseek", "each chunk walks from the list head to its position (the kernel's)",
	    "fs/seq_file.c seq_read_iter(), seq_list_start(); mm/slab_common.c slab_start()" },
	  reseek_start, reseek_next, reseek_stop },
	{ { "cursor", "a cursor entry in the list marks where the next chunk resumes",
	    "fs/proc_namespace.c mounts cursor, Linux 5.8 (9f6c61f96f2d); beyond the kernel for slabinfo" },
	  cursor_start, cursor_next, cursor_stop },
};

static const struct ks_strategy_info iter_info[] = {
	{ "reseek", "each chunk walks from the list head to its position (the kernel's)",
	  "fs/seq_file.c seq_read_iter(), seq_list_start(); mm/slab_common.c slab_start()" },
	{ "cursor", "a cursor entry in the list marks where the next chunk resumes",
	  "fs/proc_namespace.c mounts cursor, Linux 5.8 (9f6c61f96f2d); beyond the kernel for slabinfo" },
};

const struct ks_strategy_info *ks_slabinfo_iterators(size_t *n)
{
	if (!n)
		return NULL;
	*n = KS_ARRAY_SIZE(iter_info);
	return iter_info;
}

/* ---- seq_printf and show ---------------------------------------------- */

static void seq_printf(struct ks_slabinfo *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void seq_printf(struct ks_slabinfo *f, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (f->count >= f->size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(f->buf + f->count, f->size - f->count, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= f->size - f->count)
		f->count = f->size; /* seq_set_overflow() */
	else
		f->count += (size_t)n;
}

static bool seq_has_overflowed(const struct ks_slabinfo *f)
{
	return f->count == f->size;
}

static int log_row(struct ks_slabinfo *f, uint64_t serial, size_t off)
{
	if (f->nlog == f->caplog) {
		size_t cap = f->caplog ? f->caplog * 2 : 256;
		struct shown *n = ks_mem_alloc(f->s->t_seq, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		if (f->log) {
			memcpy(n, f->log, f->nlog * sizeof(*n));
			ks_mem_free(f->s->t_seq, f->log, f->caplog * sizeof(*n));
		}
		f->log = n;
		f->caplog = cap;
	}
	f->log[f->nlog].serial = serial;
	f->log[f->nlog].off = off;
	f->nlog++;
	return 0;
}

/* Forget rows logged from buffer offset @off on (they were rolled back). */
static void log_truncate(struct ks_slabinfo *f, size_t base, size_t off)
{
	while (f->nlog > base && f->log[f->nlog - 1].off >= off)
		f->nlog--;
}

/* slab_show() -> cache_show(); slab_mutex held. */
static int slab_show(struct ks_slabinfo *f, struct klink *p)
{
	struct kcache *c = p->owner;
	int64_t active = 0, total = 0, slabs = 0;
	size_t off;

	if (p == real_after(f, f->list->next))
		seq_printf(f, "%s", ks_slabinfo_header);
	if (!kcache_is_root(c))
		return 0;
	off = f->count;
	ks_kcache_stats(c, &active, &total, &slabs);
	for (struct ks_list *l = c->children.next; l != &c->children; l = l->next) {
		visit(f, 1);
		ks_kcache_stats(ks_list_entry(l, struct kcache, children_node), &active, &total,
				&slabs);
	}
	seq_printf(f, "%-17s %6lu %6lu %6u %4u %4d", c->name, (unsigned long)active,
		   (unsigned long)total, (unsigned int)c->size, c->objs_per_slab,
		   1 << f->s->slab_order);
	seq_printf(f, " : tunables %4u %4u %4u", c->cpu_cap, c->cpu_cap / 2 ? c->cpu_cap / 2 : 1,
		   0u);
	seq_printf(f, " : slabdata %6lu %6lu %6lu\n", (unsigned long)slabs,
		   (unsigned long)slabs, 0ul);
	if (!seq_has_overflowed(f))
		return log_row(f, c->serial, off);
	return 0;
}

/* ---- the pass check --------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* End of a pass, slab_mutex held: compare what was shown with the list. */
static void pass_end_locked(struct ks_slabinfo *f)
{
	uint64_t *ser;
	size_t n = f->nlog;

	if (!f->in_pass)
		return;
	f->in_pass = false;
	f->cur.rows = n;
	/* reuse the log as a sorted array of serials */
	ser = (uint64_t *)f->log;
	for (size_t i = 0; i < n; i++)
		ser[i] = f->log[i].serial;
	if (n)
		qsort(ser, n, sizeof(*ser), cmp_u64);
	for (size_t i = 1; i < n; i++)
		if (ser[i] == ser[i - 1])
			f->cur.duplicates++;
	/* slab_root_caches exists in every strategy as bookkeeping */
	for (struct ks_list *l = f->s->slab_root_caches.next; l != &f->s->slab_root_caches;
	     l = l->next) {
		struct kcache *c = ks_list_entry(l, struct klink, node)->owner;

		if (!c || c->gen > f->gen0)
			continue; /* created during the pass */
		if (!n || !bsearch(&c->serial, ser, n, sizeof(*ser), cmp_u64))
			f->cur.missing++;
	}
	f->last = f->cur;
	f->have_last = true;
	f->nlog = 0;
}

/* ---- seq_read_iter() -------------------------------------------------- */

ssize_t ks_slabinfo_read(struct ks_slabinfo *f, char *ubuf, size_t len)
{
	const struct seq_iter_ops *it;
	size_t copied = 0, base;
	struct klink *p;
	int err = 0;

	if (!f || (!ubuf && len))
		return -EINVAL;
	if (!ks_rcu_thread_registered())
		return -EPERM;
	if (!len)
		return 0;
	it = f->it;
	KS_ADD(&f->s->slabinfo_reads, 1);
	if (f->count) {
		size_t n = f->count < len ? f->count : len;

		memcpy(ubuf, f->buf + f->from, n);
		f->count -= n;
		f->from += n;
		copied += n;
		if (f->count || copied == len)
			return (ssize_t)copied;
	}
	/* get a non-empty record in the buffer */
	f->from = 0;
	if (f->index == 0 && !f->in_pass) {
		f->in_pass = true;
		f->need_gen = true;
		memset(&f->cur, 0, sizeof(f->cur));
		f->nlog = 0;
	}
	base = f->nlog;
	f->cur.chunks++;
	p = it->start(f, &f->index);
	while (1) {
		if (!p)
			break;
		err = slab_show(f, p);
		if (err < 0)
			break;
		if (!f->count) { /* empty record */
			p = it->next(f, p, &f->index);
			continue;
		}
		if (!seq_has_overflowed(f))
			goto fill;
		/* need a bigger buffer */
		it->stop(f, p);
		ks_mem_free(f->s->t_seq, f->buf, f->size);
		f->count = 0;
		log_truncate(f, base, 0);
		f->buf = ks_mem_alloc(f->s->t_seq, f->size * 2);
		if (!f->buf) {
			f->buf = ks_mem_alloc(f->s->t_seq, KS_PAGE_SIZE);
			f->size = f->buf ? KS_PAGE_SIZE : 0;
			return copied ? (ssize_t)copied : -ENOMEM;
		}
		f->size *= 2;
		p = it->start(f, &f->index);
	}
	/* EOF or an error */
	if (!err && !p && !f->count)
		pass_end_locked(f);
	it->stop(f, p);
	f->count = 0;
	if (err < 0 && !copied)
		return err;
	return (ssize_t)copied;
fill:
	/* one non-empty record is in the buffer; try to fit more in */
	while (1) {
		size_t offs = f->count;

		p = it->next(f, p, &f->index);
		if (!p)
			break;
		if (f->count >= len - copied)
			break;
		err = slab_show(f, p);
		if (err || seq_has_overflowed(f)) {
			f->count = offs;
			log_truncate(f, base, offs);
			break;
		}
	}
	it->stop(f, p);
	{
		size_t n = f->count < len - copied ? f->count : len - copied;

		memcpy(ubuf + copied, f->buf, n);
		copied += n;
		f->count -= n;
		f->from = n;
	}
	return (ssize_t)copied;
}

int ks_slabinfo_open(struct ks_slab_sys *s, const char *iter, struct ks_slabinfo **out)
{
	const struct seq_iter_ops *it = NULL;
	struct ks_slabinfo *f;

	if (!s || !out)
		return -EINVAL;
	if (!iter)
		iter = "reseek";
	for (size_t i = 0; i < KS_ARRAY_SIZE(iters); i++)
		if (!strcmp(iters[i].info.name, iter))
			it = &iters[i];
	if (!it)
		return -ENOENT;
	if (!ks_rcu_thread_registered())
		return -EPERM;
	f = ks_mem_zalloc(s->t_seq, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->s = s;
	f->it = it;
	f->list = s->ops->slabinfo_all ? &s->slab_caches : &s->slab_root_caches;
	f->size = KS_PAGE_SIZE;
	f->buf = ks_mem_alloc(s->t_seq, f->size);
	if (!f->buf) {
		ks_mem_free(s->t_seq, f, sizeof(*f));
		return -ENOMEM;
	}
	ks_list_init(&f->cursor.node);
	f->cursor.owner = NULL;
	*out = f;
	return 0;
}

int ks_slabinfo_rewind(struct ks_slabinfo *f)
{
	if (!f)
		return -EINVAL;
	f->index = 0;
	f->count = 0;
	f->from = 0;
	f->in_pass = false;
	f->nlog = 0;
	return 0;
}

int ks_slabinfo_last_pass(const struct ks_slabinfo *f, struct ks_slabinfo_pass *out)
{
	if (!f || !out)
		return -EINVAL;
	if (!f->have_last)
		return -ENODATA;
	*out = f->last;
	return 0;
}

void ks_slabinfo_close(struct ks_slabinfo *f)
{
	struct ks_slab_sys *s;

	if (!f)
		return;
	s = f->s;
	if (f->cursor_linked) {
		ks_mutex_lock(&s->slab_mutex);
		ks_list_del(&f->cursor.node);
		ks_mutex_unlock(&s->slab_mutex);
	}
	if (f->log)
		ks_mem_free(s->t_seq, f->log, f->caplog * sizeof(*f->log));
	if (f->buf)
		ks_mem_free(s->t_seq, f->buf, f->size);
	ks_mem_free(s->t_seq, f, sizeof(*f));
}

/* ---- the parser ------------------------------------------------------- */

static int parse_ul(const char *tok, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (*tok < '0' || *tok > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(tok, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int ks_slabinfo_parse_row(const char *line, struct ks_slabinfo_row *out)
{
	char tmp[512], *tok[17], *save = NULL, *t;
	unsigned long v[12];
	int n = 0;
	size_t len;

	if (!line || !out)
		return -EINVAL;
	len = strlen(line);
	if (len >= sizeof(tmp))
		return -EINVAL;
	memcpy(tmp, line, len + 1);
	for (t = strtok_r(tmp, " \t\n", &save); t; t = strtok_r(NULL, " \t\n", &save)) {
		if (n == 17)
			return -EINVAL;
		tok[n++] = t;
	}
	if (n != 16 || strcmp(tok[6], ":") || strcmp(tok[7], "tunables") ||
	    strcmp(tok[11], ":") || strcmp(tok[12], "slabdata"))
		return -EINVAL;
	if (tok[0][0] == '#')
		return -EINVAL;
	{
		static const int idx[12] = { 1, 2, 3, 4, 5, 8, 9, 10, 13, 14, 15, -1 };

		for (int i = 0; i < 11; i++) {
			unsigned long max = (i >= 2 && i <= 7) ? 0xffffffffUL : (unsigned long)-1;

			if (parse_ul(tok[idx[i]], max, &v[i]))
				return -EINVAL;
		}
	}
	if (strlen(tok[0]) > KS_SLAB_NAME_MAX)
		return -ENAMETOOLONG;
	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", tok[0]);
	out->active_objs = v[0];
	out->num_objs = v[1];
	out->objsize = (unsigned int)v[2];
	out->objperslab = (unsigned int)v[3];
	out->pagesperslab = (unsigned int)v[4];
	out->limit = (unsigned int)v[5];
	out->batchcount = (unsigned int)v[6];
	out->sharedfactor = (unsigned int)v[7];
	out->active_slabs = v[8];
	out->num_slabs = v[9];
	out->sharedavail = v[10];
	return 0;
}
