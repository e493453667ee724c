// SPDX-License-Identifier: MIT
/*
 * mem: allocation with per-type accounting, read back as a /proc/slabinfo-like
 * table.
 *
 * A domain (struct ks_mem) holds up to KS_MEM_MAX_TYPES named types. Each type
 * counts, per CPU of the domain's topology, its allocations, frees, bytes
 * allocated, bytes freed and failed allocations; live objects and live bytes
 * are the differences, computed when the counters are read. This is how the
 * kernel's per-CPU counters work (lib/percpu_counter.c, mm/vmstat.c): an
 * update touches only the calling CPU's cache line and a reader sums. The
 * differences mean an allocation costs two atomic adds and a free two, instead
 * of four each if live counts were kept separately.
 *
 * Several unlabelled threads may map to the same per-CPU slot (ks_cpu_current()
 * falls back to sched_getcpu(), reduced modulo the topology's CPU count), so
 * the adds are relaxed atomics rather than plain stores: an uncontended
 * "lock xadd" on a line this CPU owns, not a shared-line bounce.
 *
 * Backends. With jemalloc (KS_HAVE_JEMALLOC=1), memory comes from mallocx():
 * on the real machine with more than one NUMA node, from one arena per node
 * (MALLOCX_ARENA), so that one node's objects never share jemalloc's slabs
 * and extents with another's. The arena alone does not bind memory: jemalloc
 * faults pages in where they are first touched, so an arena gives locality
 * where its allocating thread runs on its node, which is what the harness does
 * when it binds threads in topology order (ks_topo_bind_thread()). Without
 * jemalloc (the sanitizer builds), memory comes from libc malloc(), so that
 * ASan and TSan intercept every allocation and free.
 */
#define _GNU_SOURCE
#include <kscale/mem.h>
#include <kscale/percpu.h>
#include <kscale/topo.h>

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#if KS_HAVE_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

#define KS_MEM_MAX_TYPES 256
#define KS_MEM_MAX_SIZE (1ul << 30) /* 1 GiB: larger requests are bugs here */

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* Sanitizer builds report the exact requested size from malloc_usable_size(). */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define KS_MEM_EXACT_USABLE 1
#else
#define KS_MEM_EXACT_USABLE 0
#endif

/* One CPU's counters for one type; ks_percpu gives each its own cache line. */
struct mem_pcpu {
	uint64_t allocs;
	uint64_t frees;
	uint64_t bytes_allocated;
	uint64_t bytes_freed;
	uint64_t failed;
};

struct ks_mem_type {
	struct ks_mem *mem;
	struct ks_percpu *pcpu; /* struct mem_pcpu per CPU */
	size_t objsize;
	/*
	 * Set once, before the first ks_mem_alloc_aligned() of this type
	 * returns: its objects are freed with jemalloc's unsized dallocx(),
	 * because an aligned allocation may sit in a larger size class than
	 * its size alone names, and sdallocx() with the wrong class corrupts
	 * jemalloc's bins. Whoever frees such an object received it through
	 * some synchronisation after the store, so a relaxed load sees it.
	 */
	uint8_t aligned;
	char name[KS_MEM_TYPE_NAME_MAX];
};

enum mem_fail_mode {
	MEM_FAIL_OFF = 0,
	MEM_FAIL_NTH,   /* the countdown's zero fails, then disarm */
	MEM_FAIL_EVERY, /* every allocation from the countdown's zero on fails */
};

struct ks_mem {
	/* Read by every allocation, written only at creation and when arming. */
	const struct ks_topo *topo;
	int nr_cpus;
	int nr_nodes;
	int *node_flags;   /* per node: MALLOCX_ARENA(its arena); NULL: default */
	uint8_t fail_mode; /* enum mem_fail_mode, read with one plain load */

	/* Types: created under @lock, published for lock-free readers. */
	pthread_mutex_t lock;
	unsigned int nr_types;
	struct ks_mem_type *types[KS_MEM_MAX_TYPES];

	/*
	 * Fault injection countdown: decremented only while armed, on its own
	 * line so that an armed test does not slow down the fields above.
	 */
	int64_t fail_countdown ks_cacheline_aligned;
};

/* ---- backend ------------------------------------------------------------ */

#if KS_HAVE_JEMALLOC
/*
 * The per-node arenas are process-wide: every real topology describes the same
 * machine, and jemalloc arenas cannot be destroyed safely while thread caches
 * may still hold their objects (arena.<i>.destroy requires every tcache that
 * touched the arena to be flushed). So they are created on first use and kept,
 * a lazily built read-only table, instead of leaking arenas per domain.
 */
static pthread_mutex_t node_arenas_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned int *node_arenas;
static int nr_node_arenas;

static int node_arenas_get(int nr_nodes, int *flags)
{
	int ret = 0;

	pthread_mutex_lock(&node_arenas_lock);
	if (nr_node_arenas < nr_nodes) {
		unsigned int *a = realloc(node_arenas, nr_nodes * sizeof(*a));

		if (!a) {
			ret = -ENOMEM;
			goto out;
		}
		node_arenas = a;
		while (nr_node_arenas < nr_nodes) {
			unsigned int idx;
			size_t sz = sizeof(idx);

			if (mallctl("arenas.create", &idx, &sz, NULL, 0) != 0) {
				ret = -ENOMEM;
				goto out;
			}
			node_arenas[nr_node_arenas++] = idx;
		}
	}
	for (int n = 0; n < nr_nodes; n++)
		flags[n] = MALLOCX_ARENA(node_arenas[n]);
out:
	pthread_mutex_unlock(&node_arenas_lock);
	return ret;
}

static void *backend_alloc(struct ks_mem *m, size_t size, size_t align, int node,
			   bool zero)
{
	int flags = 0;

	if (align)
		flags |= MALLOCX_ALIGN(align);
	if (zero)
		flags |= MALLOCX_ZERO;
	if (m->node_flags) {
		if (node < 0)
			node = ks_topo_cpu_node(m->topo,
						(unsigned int)ks_cpu_current() % m->nr_cpus);
		flags |= m->node_flags[node];
	}
	return mallocx(size, flags);
}

static int backend_free(const struct ks_mem_type *type, void *p, size_t size)
{
#ifndef NDEBUG
	/* Debug builds refuse a size larger than the object instead of corrupting. */
	if (size > sallocx(p, 0))
		return -EINVAL;
#endif
	if (__atomic_load_n(&type->aligned, __ATOMIC_RELAXED))
		dallocx(p, 0);
	else
		sdallocx(p, size, 0);
	return 0;
}

static void backend_name(char *buf, size_t len)
{
	const char *v = NULL;
	size_t sz = sizeof(v);

	if (mallctl("version", &v, &sz, NULL, 0) != 0 || !v)
		v = JEMALLOC_VERSION;
	snprintf(buf, len, "jemalloc %s", v);
}
#else /* !KS_HAVE_JEMALLOC */
static int node_arenas_get(int nr_nodes, int *flags)
{
	return -EOPNOTSUPP;
}

static void *backend_alloc(struct ks_mem *m, size_t size, size_t align, int node,
			   bool zero)
{
	void *p = NULL;

	/* libc has no placement: @node was validated and is otherwise unused. */
	if (align) {
		/* posix_memalign, unlike aligned_alloc, takes any size. */
		if (align < sizeof(void *))
			align = sizeof(void *);
		if (posix_memalign(&p, align, size) != 0)
			return NULL;
		if (zero)
			memset(p, 0, size);
		return p;
	}
	return zero ? calloc(1, size) : malloc(size);
}

static int backend_free(const struct ks_mem_type *type, void *p, size_t size)
{
	size_t usable = malloc_usable_size(p);

	/*
	 * A wrong size would make the accounting lie. Under the sanitizers the
	 * usable size is exactly what was requested, so any mismatch is caught;
	 * with plain glibc only a size larger than the block is.
	 */
	if (KS_MEM_EXACT_USABLE ? usable != size : usable < size)
		return -EINVAL;
	free(p);
	return 0;
}

static void backend_name(char *buf, size_t len)
{
	snprintf(buf, len, "libc");
}
#endif

static pthread_once_t backend_once = PTHREAD_ONCE_INIT;
static char backend_str[96];

static void backend_init(void)
{
	backend_name(backend_str, sizeof(backend_str));
}

const char *ks_mem_backend(void)
{
	pthread_once(&backend_once, backend_init);
	return backend_str;
}

/* ---- domain and types ---------------------------------------------------- */

int ks_mem_create(const struct ks_topo *t, struct ks_mem **out)
{
	struct ks_mem *m;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!t)
		t = ks_topo_default();
	if (!t)
		return -ENOMEM; /* hwloc could not load the machine */

	m = aligned_alloc(KS_CACHELINE, sizeof(*m));
	if (!m)
		return -ENOMEM;
	memset(m, 0, sizeof(*m));
	m->topo = t;
	m->nr_cpus = ks_topo_nr_cpus(t);
	m->nr_nodes = ks_topo_nr_nodes(t);
	if (KS_HAVE_JEMALLOC && ks_topo_is_real(t) && m->nr_nodes > 1) {
		m->node_flags = calloc(m->nr_nodes, sizeof(*m->node_flags));
		if (!m->node_flags)
			goto nomem;
		/* Without arenas, placement falls back to jemalloc's default. */
		if (node_arenas_get(m->nr_nodes, m->node_flags) != 0) {
			free(m->node_flags);
			m->node_flags = NULL;
		}
	}
	if (pthread_mutex_init(&m->lock, NULL) != 0)
		goto nomem;
	*out = m;
	return 0;
nomem:
	free(m->node_flags);
	free(m);
	return -ENOMEM;
}

static void type_sum(const struct ks_mem_type *type, struct mem_pcpu *sum)
{
	int nr = ks_percpu_nr(type->pcpu);

	memset(sum, 0, sizeof(*sum));
	for (int cpu = 0; cpu < nr; cpu++) {
		const struct mem_pcpu *c = ks_percpu_ptr(type->pcpu, cpu);

		sum->allocs += __atomic_load_n(&c->allocs, __ATOMIC_RELAXED);
		sum->frees += __atomic_load_n(&c->frees, __ATOMIC_RELAXED);
		sum->bytes_allocated += __atomic_load_n(&c->bytes_allocated, __ATOMIC_RELAXED);
		sum->bytes_freed += __atomic_load_n(&c->bytes_freed, __ATOMIC_RELAXED);
		sum->failed += __atomic_load_n(&c->failed, __ATOMIC_RELAXED);
	}
}

long ks_mem_destroy(struct ks_mem *m)
{
	long live = 0;

	if (!m)
		return -EINVAL;
	for (unsigned int i = 0; i < m->nr_types; i++) {
		struct mem_pcpu s;

		type_sum(m->types[i], &s);
		/* More frees than allocations (a double free) is not "live". */
		if (s.allocs > s.frees)
			live += (long)(s.allocs - s.frees);
		ks_percpu_free(m->types[i]->pcpu);
		free(m->types[i]);
	}
	pthread_mutex_destroy(&m->lock);
	free(m->node_flags);
	free(m);
	return live;
}

/* Names appear as one column of the table, so they must be a single word. */
static bool name_valid(const char *name)
{
	size_t len = strnlen(name, KS_MEM_TYPE_NAME_MAX);

	if (len == 0 || len >= KS_MEM_TYPE_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isgraph((unsigned char)name[i]))
			return false;
	return true;
}

int ks_mem_type_get(struct ks_mem *m, const char *name, size_t objsize,
		    struct ks_mem_type **out)
{
	struct ks_mem_type *type;
	int ret = 0;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!m || !name || !name_valid(name))
		return -EINVAL;

	pthread_mutex_lock(&m->lock);
	for (unsigned int i = 0; i < m->nr_types; i++) {
		if (strcmp(m->types[i]->name, name) == 0) {
			*out = m->types[i];
			goto out;
		}
	}
	if (m->nr_types == KS_MEM_MAX_TYPES) {
		ret = -ENOSPC;
		goto out;
	}
	type = calloc(1, sizeof(*type));
	if (!type) {
		ret = -ENOMEM;
		goto out;
	}
	ret = ks_percpu_alloc(m->topo, sizeof(struct mem_pcpu), &type->pcpu);
	if (ret) {
		free(type);
		ret = ret == -ENOMEM ? -ENOMEM : -EINVAL;
		goto out;
	}
	type->mem = m;
	type->objsize = objsize;
	strcpy(type->name, name);
	m->types[m->nr_types] = type;
	/* Publish: a lock-free reader that sees the count sees the type. */
	__atomic_store_n(&m->nr_types, m->nr_types + 1, __ATOMIC_RELEASE);
	*out = type;
out:
	pthread_mutex_unlock(&m->lock);
	return ret;
}

/* ---- the hot path ---------------------------------------------------------- */

/* Fault injection: the common, disarmed case is one load of a read-only line. */
static bool should_fail(struct ks_mem *m)
{
	uint8_t mode = __atomic_load_n(&m->fail_mode, __ATOMIC_ACQUIRE);
	int64_t left;

	if (likely(mode == MEM_FAIL_OFF))
		return false;
	left = __atomic_sub_fetch(&m->fail_countdown, 1, __ATOMIC_RELAXED);
	if (mode == MEM_FAIL_EVERY)
		return left <= 0;
	if (left != 0)
		return false;
	/* Exactly one allocation sees zero: it fails and disarms. */
	__atomic_compare_exchange_n(&m->fail_mode, &mode, MEM_FAIL_OFF, false,
				    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
	return true;
}

static void count_failed(struct ks_mem_type *type)
{
	struct mem_pcpu *c = ks_percpu_this(type->pcpu);

	__atomic_fetch_add(&c->failed, 1, __ATOMIC_RELAXED);
}

static void *mem_alloc(struct ks_mem_type *type, size_t size, size_t align, int node,
		       bool zero)
{
	struct ks_mem *m;
	struct mem_pcpu *c;
	void *p;

	if (unlikely(!type))
		return NULL;
	m = type->mem;
	if (unlikely(size == 0 || size > KS_MEM_MAX_SIZE || node < -1 ||
		     node >= m->nr_nodes)) {
		count_failed(type);
		return NULL;
	}
	if (unlikely(should_fail(m))) {
		count_failed(type);
		return NULL;
	}
	p = backend_alloc(m, size, align, node, zero);
	if (unlikely(!p)) {
		count_failed(type);
		return NULL;
	}
	c = ks_percpu_this(type->pcpu);
	__atomic_fetch_add(&c->allocs, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&c->bytes_allocated, size, __ATOMIC_RELAXED);
	return p;
}

void *ks_mem_alloc(struct ks_mem_type *type, size_t size)
{
	return mem_alloc(type, size, 0, -1, false);
}

void *ks_mem_zalloc(struct ks_mem_type *type, size_t size)
{
	return mem_alloc(type, size, 0, -1, true);
}

void *ks_mem_alloc_node(struct ks_mem_type *type, size_t size, int node)
{
	return mem_alloc(type, size, 0, node, false);
}

void *ks_mem_alloc_aligned(struct ks_mem_type *type, size_t size, size_t align)
{
	if (!type)
		return NULL;
	if (align == 0 || (align & (align - 1)) || align > KS_MEM_MAX_SIZE) {
		count_failed(type);
		return NULL;
	}
	/* Only the first aligned allocation writes the flag. */
	if (!__atomic_load_n(&type->aligned, __ATOMIC_RELAXED))
		__atomic_store_n(&type->aligned, 1, __ATOMIC_RELAXED);
	return mem_alloc(type, size, align, -1, false);
}

int ks_mem_free(struct ks_mem_type *type, void *p, size_t size)
{
	struct mem_pcpu *c;
	int ret;

	if (!type)
		return -EINVAL;
	if (!p)
		return 0;
	if (size == 0 || size > KS_MEM_MAX_SIZE)
		return -EINVAL;
	ret = backend_free(type, p, size);
	if (ret)
		return ret;
	c = ks_percpu_this(type->pcpu);
	__atomic_fetch_add(&c->frees, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&c->bytes_freed, size, __ATOMIC_RELAXED);
	return 0;
}

/* ---- reading ------------------------------------------------------------- */

int ks_mem_type_read(const struct ks_mem_type *type, struct ks_mem_type_stats *out)
{
	struct mem_pcpu s;

	if (!type || !out)
		return -EINVAL;
	/*
	 * The per-CPU counters are read one after another while others may
	 * update them, so a snapshot taken under load is approximate (live
	 * counts may even be momentarily negative); at rest it is exact.
	 */
	type_sum(type, &s);
	memset(out, 0, sizeof(*out));
	memcpy(out->name, type->name, sizeof(out->name));
	out->objsize = type->objsize;
	out->live_objs = (int64_t)(s.allocs - s.frees);
	out->live_bytes = (int64_t)(s.bytes_allocated - s.bytes_freed);
	out->allocs = s.allocs;
	out->frees = s.frees;
	out->bytes_allocated = s.bytes_allocated;
	out->failed = s.failed;
	return 0;
}

int ks_mem_read(const struct ks_mem *m, struct ks_mem_type_stats *out, size_t max,
		size_t *n)
{
	unsigned int nr;

	if (!m || !n || (!out && max > 0))
		return -EINVAL;
	nr = __atomic_load_n(&m->nr_types, __ATOMIC_ACQUIRE);
	for (unsigned int i = 0; i < nr && i < max; i++)
		ks_mem_type_read(m->types[i], &out[i]);
	*n = nr;
	return 0;
}

int ks_mem_totals(const struct ks_mem *m, int64_t *live_bytes, uint64_t *bytes_allocated)
{
	unsigned int nr;
	uint64_t alloc = 0, freed = 0;

	if (!m)
		return -EINVAL;
	nr = __atomic_load_n(&m->nr_types, __ATOMIC_ACQUIRE);
	for (unsigned int i = 0; i < nr; i++) {
		struct mem_pcpu s;

		type_sum(m->types[i], &s);
		alloc += s.bytes_allocated;
		freed += s.bytes_freed;
	}
	if (live_bytes)
		*live_bytes = (int64_t)(alloc - freed);
	if (bytes_allocated)
		*bytes_allocated = alloc;
	return 0;
}

/*
 * One header line, then one row per type, whitespace-separated like
 * /proc/slabinfo (mm/slab_common.c cache_show()), so awk and the tests can
 * split it on blanks.
 */
int ks_mem_print(const struct ks_mem *m, FILE *f)
{
	unsigned int nr;

	if (!m || !f)
		return -EINVAL;
	if (fprintf(f, "# %-22s %12s %8s %14s %12s %12s %16s %8s\n", "name", "active_objs",
		    "objsize", "live_bytes", "allocs", "frees", "bytes_allocated",
		    "failed") < 0)
		return -EIO;
	nr = __atomic_load_n(&m->nr_types, __ATOMIC_ACQUIRE);
	for (unsigned int i = 0; i < nr; i++) {
		struct ks_mem_type_stats st;

		ks_mem_type_read(m->types[i], &st);
		if (fprintf(f, "%-24s %12" PRId64 " %8zu %14" PRId64 " %12" PRIu64
			    " %12" PRIu64 " %16" PRIu64 " %8" PRIu64 "\n",
			    st.name, st.live_objs, st.objsize, st.live_bytes, st.allocs,
			    st.frees, st.bytes_allocated, st.failed) < 0)
			return -EIO;
	}
	if (fflush(f) != 0 || ferror(f))
		return -EIO;
	return 0;
}

/* ---- fault injection ---------------------------------------------------- */

static int mem_arm(struct ks_mem *m, uint64_t nth, enum mem_fail_mode mode)
{
	if (!m)
		return -EINVAL;
	/* Disarm first, so no allocation sees the new countdown with the old mode. */
	__atomic_store_n(&m->fail_mode, MEM_FAIL_OFF, __ATOMIC_RELEASE);
	if (nth == 0)
		return 0;
	if (nth > INT64_MAX)
		nth = INT64_MAX;
	__atomic_store_n(&m->fail_countdown, (int64_t)nth, __ATOMIC_RELAXED);
	__atomic_store_n(&m->fail_mode, mode, __ATOMIC_RELEASE);
	return 0;
}

int ks_mem_fail_nth(struct ks_mem *m, uint64_t nth)
{
	return mem_arm(m, nth, MEM_FAIL_NTH);
}

int ks_mem_fail_every(struct ks_mem *m, uint64_t nth)
{
	return mem_arm(m, nth, MEM_FAIL_EVERY);
}
