/* SPDX-License-Identifier: MIT */
/*
 * A task list and a reap context over one test environment, shared by
 * test_reap, stress_reap and oracle_reap.
 */
#ifndef KSCALE_TESTS_REAP_ENV_H
#define KSCALE_TESTS_REAP_ENV_H

#include "ks_test.h"

#include <kscale/reap.h>
#include <kscale/task.h>

#include <string.h>

struct reap_env {
	struct ks_test_env env;
	struct ks_tasks *t;
	struct ks_reap *r;
};

/* @check: the safety-check strategy; @ro: more options (may be NULL). */
static inline void reap_env_init(struct reap_env *e, const char *topo, const char *check,
				 const struct ks_reap_opts *ro_in)
{
	struct ks_tasks_opts to = { 0 };
	struct ks_reap_opts ro = { 0 };

	memset(e, 0, sizeof(*e));
	ks_test_env_init(&e->env, topo);
	to.topo = e->env.topo;
	to.locks = e->env.locks;
	to.mem = e->env.mem;
	assert_int_equal(ks_tasks_create(&to, &e->t), 0);
	if (ro_in)
		ro = *ro_in;
	ro.topo = e->env.topo;
	ro.locks = e->env.locks;
	ro.mem = e->env.mem;
	ro.check = check;
	assert_int_equal(ks_reap_create(e->t, &ro, &e->r), 0);
	assert_string_equal(ks_reap_check(e->r), check);
}

/* Destroy both and run the leak oracle. */
static inline void reap_env_fini(struct reap_env *e)
{
	assert_int_equal(ks_reap_destroy(e->r), 0);
	assert_int_equal(ks_tasks_destroy(e->t), 0);
	ks_test_env_fini(&e->env);
}

#endif
