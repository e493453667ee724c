// SPDX-License-Identifier: MIT
/*
 * Nested pid namespaces: build a chain of three, allocate a pid in the
 * innermost one, and print its number at every level, as /proc/PID/status
 * NSpid does (outermost first). Usage: example_pid_namespaces [STRATEGY]
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <kscale/kscale.h>

int main(int argc, char **argv)
{
	const char *strategy = argc > 1 ? argv[1] : "idr-relock";
	struct ks_pid_ns *ns[3];
	struct ks_pid_space *s;
	struct ks_pid *init[3], *pid;
	int err;

	ks_rcu_register_thread();
	err = ks_pid_space_create(strategy, NULL, &s);
	if (err) {
		fprintf(stderr, "ks_pid_space_create(%s): %s\n", strategy, strerror(-err));
		return 1;
	}
	ks_pid_ns_root(s, &ns[0]);
	for (int i = 0; i < 3; i++) {
		/* every namespace gets its init first: pid 1 inside */
		if (i && (err = ks_pid_ns_create(ns[i - 1], &ns[i])))
			break;
		if ((err = ks_pid_alloc(ns[i], NULL, 0, 0, &init[i])))
			break;
	}
	if (!err)
		err = ks_pid_alloc(ns[2], NULL, 0, 0, &pid);
	if (err) {
		fprintf(stderr, "allocation: %s\n", strerror(-err));
		ks_pid_space_destroy(s);
		return 1;
	}
	printf("strategy %s, a pid at level %d:\nNSpid:", strategy, ks_pid_level(pid));
	for (int i = 0; i < 3; i++)
		printf("\t%d", ks_pid_nr_ns(pid, ns[i]));
	printf("\n");
	for (int i = 0; i < 3; i++)
		printf("level %d (pid_max %d): init is %d here\n", ks_pid_ns_level(ns[i]),
		       ks_pid_ns_pid_max(ns[i]), ks_pid_nr_ns(init[i], ns[i]));
	/* a namespace the pid is not in has no number for it */
	printf("the root's init has number %d in the innermost namespace\n",
	       ks_pid_nr_ns(init[0], ns[2]));
	ks_pid_free(pid);
	err = ks_pid_space_destroy(s); /* frees the inits too */
	ks_rcu_unregister_thread();
	return err ? 1 : 0;
}
