// SPDX-License-Identifier: MIT
/*
 * version: the library's version and those of the libraries it was built
 * with, for the context block of benchmark results.
 */
#define _GNU_SOURCE
#include <kscale/kscale.h>

#include <errno.h>
#include <stdio.h>

#include <hwloc.h>

/*
 * liburcu 0.13 has no version macro or function (urcu/version.h came in
 * 0.14); the build passes the pkg-config version as KS_URCU_VERSION when it
 * can.
 */
#ifndef KS_URCU_VERSION
#define KS_URCU_VERSION "(version unknown)"
#endif

const char *ks_version(void)
{
	return KS_VERSION_STRING;
}

/*
 * hwloc's headers carry only the API version (0x00020800 for hwloc 2.9); the
 * library's own version is the "hwlocVersion" info that every topology load
 * stores on the root object. A one-PU synthetic topology is enough to ask.
 */
static void hwloc_version(char *buf, size_t len)
{
	hwloc_topology_t t;
	const char *v = NULL;
	unsigned int api = hwloc_get_api_version();

	if (hwloc_topology_init(&t) == 0) {
		if (hwloc_topology_set_synthetic(t, "pu:1") == 0 &&
		    hwloc_topology_load(t) == 0)
			v = hwloc_obj_get_info_by_name(hwloc_get_root_obj(t),
						       "hwlocVersion");
		if (v)
			snprintf(buf, len, "%s", v);
		hwloc_topology_destroy(t);
	}
	if (!v)
		snprintf(buf, len, "api %u.%u.%u", api >> 16, (api >> 8) & 0xff, api & 0xff);
}

int ks_dependency_versions(char *buf, size_t len)
{
	char hw[32];
	int n;

	if (!buf || !len)
		return -EINVAL;
	hwloc_version(hw, sizeof(hw));
	/* ks_mem_backend() is "jemalloc <version>" or "libc". */
	n = snprintf(buf, len, "liburcu-%s %s, hwloc %s, %s%s", ks_rcu_flavor(),
		     KS_URCU_VERSION, hw, ks_mem_backend(),
		     KS_HAVE_JEMALLOC ? "" : " malloc");
	if (n < 0)
		return -EINVAL;
	return (size_t)n >= len ? -ENOSPC : n;
}
