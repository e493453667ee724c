// SPDX-License-Identifier: MIT
/*
 * The facts a reader needs to trust (or distrust) a result: google/benchmark's
 * context names where they mean the same (src/json_reporter.cc, src/sysinfo.cc:
 * date, host_name, executable, num_cpus, mhz_per_cpu, cpu_scaling_enabled,
 * aslr_enabled, load_avg, library_version, library_build_type,
 * json_schema_version), then kscale's own: the topology, dependency versions,
 * kernel release, git revision, the command line and every parameter.
 * will-it-scale's runtest.py warns about ASLR and SMT for the same reason.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "kb.h"

/* ISO 8601 local time with the offset written +hh:mm, as gbench does. */
static void iso_date(char *buf, size_t len)
{
	time_t t = time(NULL);
	struct tm tm;
	char off[8];

	localtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	strftime(off, sizeof(off), "%z", &tm); /* +hhmm */
	if (strlen(off) == 5 && strlen(buf) + 7 < len) {
		size_t n = strlen(buf);

		snprintf(buf + n, len - n, "%.3s:%.2s", off, off + 3);
	}
}

/* First line of a small file, without its newline; NULL when unreadable. */
static char *read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	char *r;

	if (!f)
		return NULL;
	r = fgets(buf, (int)len, f);
	fclose(f);
	if (!r)
		return NULL;
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}

/* cpufreq's maximum, else the "cpu MHz" line; 0 when neither says. */
static long mhz_per_cpu(void)
{
	char buf[256];
	FILE *f;

	if (read_line("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq", buf, sizeof(buf)))
		return atol(buf) / 1000;
	f = fopen("/proc/cpuinfo", "r");
	if (!f)
		return 0;
	while (fgets(buf, sizeof(buf), f)) {
		if (!strncmp(buf, "cpu MHz", 7) && strchr(buf, ':')) {
			fclose(f);
			return (long)(atof(strchr(buf, ':') + 1) + 0.5);
		}
	}
	fclose(f);
	return 0;
}

/*
 * 1: some CPU's governor is not "performance" (frequency moves under the
 * measurement), 0: all are, -1: no cpufreq (a VM, or unknown).
 */
static int cpu_scaling(void)
{
	DIR *d = opendir("/sys/devices/system/cpu");
	struct dirent *de;
	int seen = 0, scaling = 0;

	if (!d)
		return -1;
	while ((de = readdir(d))) {
		char path[512], gov[64];

		if (strncmp(de->d_name, "cpu", 3) || !de->d_name[3] ||
		    strspn(de->d_name + 3, "0123456789") != strlen(de->d_name + 3))
			continue;
		snprintf(path, sizeof(path), "/sys/devices/system/cpu/%s/cpufreq/scaling_governor",
			 de->d_name);
		if (!read_line(path, gov, sizeof(gov)))
			continue;
		seen = 1;
		if (strcmp(gov, "performance"))
			scaling = 1;
	}
	closedir(d);
	return seen ? scaling : -1;
}

/* -1 when unknown; setarch -R (ADDR_NO_RANDOMIZE) turns it off for us too. */
static int aslr_enabled(void)
{
	char buf[16];
	int pers = personality(0xffffffff);

	if (pers != -1 && (pers & ADDR_NO_RANDOMIZE))
		return 0;
	if (!read_line("/proc/sys/kernel/randomize_va_space", buf, sizeof(buf)))
		return -1;
	return strcmp(buf, "0") != 0;
}

static json_t *tri_bool(int v)
{
	return v < 0 ? json_null() : json_boolean(v);
}

static const char *build_type(char *buf, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len && KS_BUILD_TYPE[i]; i++)
		buf[i] = (char)(KS_BUILD_TYPE[i] >= 'A' && KS_BUILD_TYPE[i] <= 'Z'
					? KS_BUILD_TYPE[i] - 'A' + 'a'
					: KS_BUILD_TYPE[i]);
	buf[i] = '\0';
	return i ? buf : "unknown";
}

static const char *sanitizer(void)
{
#if defined(__SANITIZE_ADDRESS__)
	return "address";
#elif defined(__SANITIZE_THREAD__)
	return "thread";
#else
	return "none";
#endif
}

static json_t *topology_json(const struct ks_topo *t)
{
	char desc[512] = "";

	ks_topo_describe(t, desc, sizeof(desc));
	return json_pack("{s:s, s:s, s:i, s:i, s:i, s:i, s:b}", "spec",
			 ks_topo_spec(t) ? ks_topo_spec(t) : "", "description", desc, "nr_cpus",
			 ks_topo_nr_cpus(t), "nr_cores", ks_topo_nr_cores(t), "nr_nodes",
			 ks_topo_nr_nodes(t), "nr_packages", ks_topo_nr_packages(t), "bound",
			 ks_topo_is_real(t));
}

/* Quote @s for a shell if it needs it, appending to @out. */
static void shell_append(char *out, size_t len, const char *s)
{
	size_t n = strlen(out);
	bool plain = *s && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				     "0123456789-_=,./:+@%") == strlen(s);

	if (n && n + 1 < len)
		out[n++] = ' ';
	if (plain) {
		snprintf(out + n, len - n, "%s", s);
		return;
	}
	if (n + 1 < len)
		out[n++] = '\'';
	for (; *s && n + 5 < len; s++) {
		if (*s == '\'') {
			memcpy(out + n, "'\\''", 4);
			n += 4;
		} else {
			out[n++] = *s;
		}
	}
	if (n + 1 < len)
		out[n++] = '\'';
	out[n] = '\0';
}

static json_t *params_json(const struct kb_report_ctx *ctx)
{
	json_t *given = json_object(), *defs = json_object();

	for (size_t i = 0; i < ctx->nr_sweeps; i++) {
		const struct kb_sweep *s = &ctx->sweeps[i];
		json_t *g = json_object(), *d = json_object();

		for (int j = 0; j < s->n; j++) {
			const struct kb_param_def *def = &s->w->params[j];

			json_object_set_new(d, def->name, json_string(def->def ? def->def : ""));
			if (s->p[j].given) {
				char v[2048] = "";

				for (int k = 0; k < s->p[j].nv; k++) {
					strncat(v, k ? "," : "", sizeof(v) - strlen(v) - 1);
					strncat(v, s->p[j].v[k], sizeof(v) - strlen(v) - 1);
				}
				json_object_set_new(g, s->p[j].name, json_string(v));
			}
		}
		json_object_set_new(given, s->w->name, g);
		json_object_set_new(defs, s->w->name, d);
	}
	return json_pack("{s:o, s:o}", "given", given, "defaults", defs);
}

json_t *kb_context_json(const struct kb_report_ctx *ctx)
{
	const struct ks_topo *real = ks_topo_default();
	char date[64], host[256] = "", exe[4096] = "", deps[512] = "", cmd[8192] = "";
	char bt[32];
	struct utsname u;
	double load[3] = {0, 0, 0};
	json_t *c, *la;
	long mhz = mhz_per_cpu();
	ssize_t n;

	iso_date(date, sizeof(date));
	gethostname(host, sizeof(host) - 1);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	ks_dependency_versions(deps, sizeof(deps));
	if (uname(&u))
		strcpy(u.release, "unknown");
	if (getloadavg(load, 3) < 0)
		load[0] = load[1] = load[2] = 0;
	la = json_pack("[f, f, f]", load[0], load[1], load[2]);
	shell_append(cmd, sizeof(cmd), "kscale-bench");
	for (int i = 0; i < ctx->argc; i++)
		shell_append(cmd, sizeof(cmd), ctx->argv[i]);

	c = json_object();
	json_object_set_new(c, "date", json_string(date));
	json_object_set_new(c, "host_name", json_string(host));
	json_object_set_new(c, "executable", json_string(exe));
	json_object_set_new(
		c, "num_cpus",
		json_integer(real ? ks_topo_nr_cpus(real) : sysconf(_SC_NPROCESSORS_ONLN)));
	if (mhz > 0)
		json_object_set_new(c, "mhz_per_cpu", json_integer(mhz));
	json_object_set_new(c, "cpu_scaling_enabled", tri_bool(cpu_scaling()));
	json_object_set_new(c, "aslr_enabled", tri_bool(aslr_enabled()));
	json_object_set_new(c, "load_avg", la);
	json_object_set_new(c, "library_version", json_string(ks_version()));
	json_object_set_new(c, "library_build_type", json_string(build_type(bt, sizeof(bt))));
	json_object_set_new(c, "json_schema_version", json_integer(1));
	json_object_set_new(c, "sanitizer", json_string(sanitizer()));
	json_object_set_new(c, "topology", topology_json(ctx->plan->topo));
	json_object_set_new(c, "dependencies", json_string(deps));
	json_object_set_new(c, "urcu_flavor", json_string(ks_rcu_flavor()));
	json_object_set_new(c, "rcu_queues",
			    json_string(ks_rcu_queues(NULL) == KS_RCU_QUEUES_PERCPU ? "percpu"
										: "shared"));
	json_object_set_new(c, "mem_backend", json_string(ks_mem_backend()));
	json_object_set_new(c, "lockstat_enabled", json_boolean(ks_lockstat_enabled()));
	json_object_set_new(c, "kernel_release", json_string(u.release));
	json_object_set_new(c, "git_revision", json_string(KS_GIT_REVISION));
	json_object_set_new(c, "command_line", json_string(cmd));
	json_object_set_new(c, "duration_s", json_real(ctx->plan->duration_s));
	json_object_set_new(c, "warmup_s", json_real(ctx->plan->warmup_s));
	json_object_set_new(c, "repeat", json_integer(ctx->plan->repeat));
	json_object_set_new(c, "params", params_json(ctx));
	return c;
}
