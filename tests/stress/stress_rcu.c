// SPDX-License-Identifier: MIT
/*
 * rcu under concurrency. Readers, labelled with CPUs of a 256-CPU topology,
 * traverse an RCU-protected linked list and dereference an RCU-protected
 * pointer inside (sometimes nested) read-side sections. Writers replace list
 * nodes copy-update style under a mutex and swap the pointer without one,
 * then retire what they replaced either with ks_call_rcu() or with
 * ks_rcu_synchronize() and a direct free, and now and then call
 * ks_rcu_barrier(). A retired node is poisoned before it is freed: a reader
 * that ever sees poison (or a callback that sees it twice) has caught a node
 * freed before its grace period ended. ASan catches the same as a
 * use-after-free, TSan as a race (through rcu.c's grace-period annotations),
 * and the leak oracle catches a callback that never ran.
 */
#define _GNU_SOURCE
#include "ks_test.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NODES 16
#define LIVE 0x4c4956454c495645ull   /* "LIVELIVE" */
#define POISON 0x6b6b6b6b6b6b6b6bull /* the kernel's POISON_FREE byte */

struct node {
	struct ks_rcu_head rcu;
	uint64_t magic;
	int key;
	uint64_t version;
	uint64_t check; /* key ^ version, so a torn or reused node shows */
	struct node *next;
	struct shared *sh;
};

struct shared {
	struct ks_mem_type *type;
	pthread_mutex_t lock; /* serialises list writers, as a kernel updater's lock */
	struct node *head;    /* the list: keys 0..NODES-1 in order */
	struct node *single;  /* a pointer swapped without a lock */
	int stop;
	/* Counters, all atomics. */
	uint64_t queued, ran, synced, freed_twice;
};

struct thread {
	struct shared *sh;
	int cpu, id;
	pthread_t th;
	int err;
	uint64_t ops;
};

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static struct node *node_new(struct shared *sh, int key, uint64_t version)
{
	struct node *n = ks_mem_alloc(sh->type, sizeof(*n));

	if (!n)
		return NULL;
	memset(n, 0, sizeof(*n));
	n->magic = LIVE;
	n->key = key;
	n->version = version;
	n->check = (uint64_t)key ^ version;
	n->sh = sh;
	return n;
}

static void node_poison_free(struct node *n)
{
	struct shared *sh = n->sh;

	if (n->magic != LIVE)
		__atomic_fetch_add(&sh->freed_twice, 1, __ATOMIC_RELAXED);
	memset(n, 0x6b, sizeof(*n));
	ks_mem_free(sh->type, n, sizeof(*n));
}

static void node_free_cb(struct ks_rcu_head *head)
{
	struct node *n = ks_container_of(head, struct node, rcu);
	struct shared *sh = n->sh;

	node_poison_free(n);
	__atomic_fetch_add(&sh->ran, 1, __ATOMIC_RELAXED);
}

static bool node_ok(const struct node *n)
{
	return n->magic == LIVE && n->check == ((uint64_t)n->key ^ n->version);
}

static void *reader(void *arg)
{
	struct thread *t = arg;
	struct shared *sh = t->sh;
	uint64_t seed = 0x2545f4914f6cdd1dull * (t->id + 1);

	if (ks_cpu_set_current(t->cpu) || ks_rcu_register_thread()) {
		t->err = 1;
		return NULL;
	}
	do { /* at least one pass, however late this thread is scheduled */
		bool nest = rnd(&seed) & 1;
		struct node *n, *s;
		int expect = 0;

		if (ks_rcu_read_lock()) {
			t->err = 2;
			break;
		}
		for (n = ks_rcu_dereference(sh->head); n; n = ks_rcu_dereference(n->next)) {
			if (!node_ok(n) || n->key != expect++)
				t->err = 3;
			if (nest && n->key == NODES / 2) {
				/* A nested section in the middle changes nothing. */
				ks_rcu_read_lock();
				s = ks_rcu_dereference(sh->single);
				if (!s || !node_ok(s))
					t->err = 4;
				ks_rcu_read_unlock();
			}
		}
		if (expect != NODES)
			t->err = 5;
		s = ks_rcu_dereference(sh->single);
		if (!s || !node_ok(s))
			t->err = 4;
		ks_rcu_read_unlock();
		if (t->err)
			break;
		t->ops++;
	} while (!__atomic_load_n(&sh->stop, __ATOMIC_RELAXED));
	ks_rcu_unregister_thread();
	return NULL;
}

/* Replace the node with key @key by a copy with the next version. */
static int list_replace(struct shared *sh, int key, bool use_call_rcu)
{
	struct node **link, *old, *new;

	pthread_mutex_lock(&sh->lock);
	link = &sh->head;
	for (old = sh->head; old->key != key; old = old->next)
		link = &old->next;
	new = node_new(sh, key, old->version + 1);
	if (!new) {
		pthread_mutex_unlock(&sh->lock);
		return -ENOMEM;
	}
	new->next = old->next;
	ks_rcu_assign_pointer(*link, new);
	pthread_mutex_unlock(&sh->lock);

	if (use_call_rcu) {
		__atomic_fetch_add(&sh->queued, 1, __ATOMIC_RELAXED);
		return ks_call_rcu(&old->rcu, node_free_cb);
	}
	if (ks_rcu_synchronize())
		return -EDEADLK;
	node_poison_free(old);
	__atomic_fetch_add(&sh->synced, 1, __ATOMIC_RELAXED);
	return 0;
}

static int single_swap(struct shared *sh, uint64_t version)
{
	struct node *new = node_new(sh, -1, version), *old;

	if (!new)
		return -ENOMEM;
	old = __atomic_exchange_n(&sh->single, new, __ATOMIC_ACQ_REL);
	__atomic_fetch_add(&sh->queued, 1, __ATOMIC_RELAXED);
	return ks_call_rcu(&old->rcu, node_free_cb);
}

static void *writer(void *arg)
{
	struct thread *t = arg;
	struct shared *sh = t->sh;
	uint64_t seed = 0x9e3779b97f4a7c15ull * (t->id + 1);

	if (ks_cpu_set_current(t->cpu) || ks_rcu_register_thread()) {
		t->err = 1;
		return NULL;
	}
	do { /* at least one pass, however late this thread is scheduled */
		uint64_t r = rnd(&seed);
		int rc;

		switch (r % 16) {
		case 0:
			rc = list_replace(sh, (r >> 8) % NODES, false);
			break;
		case 1:
			rc = ks_rcu_barrier();
			break;
		case 2 ... 8:
			rc = list_replace(sh, (r >> 8) % NODES, true);
			break;
		default:
			rc = single_swap(sh, r >> 8);
			break;
		}
		if (rc) {
			t->err = rc;
			break;
		}
		t->ops++;
	} while (!__atomic_load_n(&sh->stop, __ATOMIC_RELAXED));
	ks_rcu_unregister_thread();
	return NULL;
}

static void test_readers_writers(void **state)
{
	bool switching = *state != NULL;
	struct ks_test_env e;
	struct shared sh = { 0 };
	int nr = ks_test_stress_threads();
	int nr_readers = nr / 2 > 0 ? nr / 2 : 1, nr_writers = nr - nr_readers > 0 ? nr - nr_readers : 1;
	struct thread *t = calloc(nr_readers + nr_writers, sizeof(*t));
	double secs = ks_test_stress_seconds();
	struct timespec ts;
	uint64_t reads = 0, writes = 0;
	struct node *n;

	assert_non_null(t);
	ks_test_env_init(&e, "synthetic:pack:4 numa:2 core:16 pu:2");
	assert_int_equal(ks_mem_type_get(e.mem, "rcu_node", sizeof(struct node), &sh.type), 0);
	assert_int_equal(pthread_mutex_init(&sh.lock, NULL), 0);
	for (int k = NODES - 1; k >= 0; k--) {
		n = node_new(&sh, k, 0);
		assert_non_null(n);
		n->next = sh.head;
		sh.head = n;
	}
	assert_non_null(sh.single = node_new(&sh, -1, 0));

	for (int i = 0; i < nr_readers + nr_writers; i++) {
		t[i].sh = &sh;
		t[i].id = i;
		t[i].cpu = (i * 67 + 255) % 256; /* the first reader is CPU 255 */
		assert_int_equal(pthread_create(&t[i].th, NULL, i < nr_readers ? reader : writer,
						&t[i]), 0);
	}
	if (switching) {
		/* flip the callback queues under the writers' call_rcu()s */
		uint64_t end = ks_clock_ns() + (uint64_t)(secs * 1e9);

		for (int k = 0; ks_clock_ns() < end; k++) {
			const struct timespec pause = { 0, 20 * 1000 * 1000 };

			assert_int_equal(ks_rcu_set_queues(k % 2 ? KS_RCU_QUEUES_SHARED
							      : KS_RCU_QUEUES_PERCPU), 0);
			nanosleep(&pause, NULL);
		}
		assert_int_equal(ks_rcu_set_queues(KS_RCU_QUEUES_SHARED), 0);
	} else {
		ts.tv_sec = (time_t)secs;
		ts.tv_nsec = (long)((secs - (double)ts.tv_sec) * 1e9);
		nanosleep(&ts, NULL);
	}
	__atomic_store_n(&sh.stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < nr_readers + nr_writers; i++) {
		pthread_join(t[i].th, NULL);
		assert_int_equal(t[i].err, 0);
		if (i < nr_readers)
			reads += t[i].ops;
		else
			writes += t[i].ops;
	}
	assert_true(reads > 0);
	assert_true(writes > 0);

	/* Every callback queued has run once the barrier returns. */
	assert_int_equal(ks_rcu_register_thread(), 0);
	assert_int_equal(ks_rcu_barrier(), 0);
	assert_int_equal(__atomic_load_n(&sh.ran, __ATOMIC_RELAXED),
			 __atomic_load_n(&sh.queued, __ATOMIC_RELAXED));
	assert_int_equal(sh.freed_twice, 0);
	print_message("stress_rcu: %d readers, %d writers: %llu traversals, %llu updates, "
		      "%llu callbacks, %llu synchronous frees\n", nr_readers, nr_writers,
		      (unsigned long long)reads, (unsigned long long)writes,
		      (unsigned long long)sh.ran, (unsigned long long)sh.synced);

	/* Nobody reads any more: free the rest directly. */
	while ((n = sh.head)) {
		sh.head = n->next;
		node_poison_free(n);
	}
	node_poison_free(sh.single);
	assert_int_equal(ks_rcu_unregister_thread(), 0);
	pthread_mutex_destroy(&sh.lock);
	free(t);
	ks_test_env_fini(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_prestate(test_readers_writers, NULL),
		/* the same while the main thread flips per-CPU callback queues on and off */
		cmocka_unit_test_prestate(test_readers_writers, (void *)"switching"),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
