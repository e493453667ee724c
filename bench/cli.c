// SPDX-License-Identifier: MIT
/*
 * Command-line options of `run` and `suite` (getopt_long). Values are checked
 * for form here; names (workload, strategies, parameters) and thread lists are
 * checked by the planner, which knows the workload and the topology.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kb.h"

enum {
	OPT_STRATEGY = 256,
	OPT_THREADS,
	OPT_DURATION,
	OPT_WARMUP,
	OPT_REPEAT,
	OPT_TOPOLOGY,
	OPT_PARAM,
	OPT_JSON,
	OPT_CSV,
	OPT_PLOT,
	OPT_FORMAT,
	OPT_DURATION_SCALE,
	OPT_WORKLOAD,
	OPT_RCU_QUEUES,
};

static const struct option options[] = {
	{"strategy", required_argument, NULL, OPT_STRATEGY},
	{"threads", required_argument, NULL, OPT_THREADS},
	{"duration", required_argument, NULL, OPT_DURATION},
	{"warmup", required_argument, NULL, OPT_WARMUP},
	{"repeat", required_argument, NULL, OPT_REPEAT},
	{"topology", required_argument, NULL, OPT_TOPOLOGY},
	{"param", required_argument, NULL, OPT_PARAM},
	{"json", required_argument, NULL, OPT_JSON},
	{"csv", required_argument, NULL, OPT_CSV},
	{"plot", required_argument, NULL, OPT_PLOT},
	{"format", required_argument, NULL, OPT_FORMAT},
	{"duration-scale", required_argument, NULL, OPT_DURATION_SCALE},
	{"workload", required_argument, NULL, OPT_WORKLOAD},
	{"rcu-queues", required_argument, NULL, OPT_RCU_QUEUES},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

/* Options `suite` does not take: its entries choose them. */
static bool run_only(int opt)
{
	return opt == OPT_STRATEGY || opt == OPT_THREADS || opt == OPT_DURATION ||
	       opt == OPT_WARMUP || opt == OPT_REPEAT || opt == OPT_PARAM || opt == OPT_PLOT;
}

static const char *opt_name(int opt)
{
	for (const struct option *o = options; o->name; o++)
		if (o->val == opt)
			return o->name;
	return "?";
}

/* Seconds: finite, > 0 (or >= 0 when @zero_ok), at most a day. */
static int parse_seconds(const char *name, const char *s, bool zero_ok, double *out,
			 struct kb_err *e)
{
	double v;

	if (kb_parse_double(s, &v) || v < 0 || (!zero_ok && v == 0) || v > 86400)
		return kb_errf(e, -EINVAL, "--%s '%s': expected seconds, %s and at most 86400",
			       name, s, zero_ok ? ">= 0" : "> 0");
	*out = v;
	return 0;
}

/* One of two words: *@out = the value of the one @s names. */
static int parse_choice(const char *name, const char *s, const char *a, uint64_t va,
			const char *b, uint64_t vb, uint64_t *out, struct kb_err *e)
{
	if (!strcmp(s, a))
		*out = va;
	else if (!strcmp(s, b))
		*out = vb;
	else
		return kb_errf(e, -EINVAL, "--%s '%s': expected %s or %s", name, s, a, b);
	return 0;
}

/* GNU getopt permutes what it parses: parse a copy, so argv stays as typed. */
static int cli_parse(int argc, char **argv, bool suite, struct kb_run_opts *o, struct kb_err *e);

int kb_cli_parse(int argc, char **argv, bool suite, struct kb_run_opts *o, struct kb_err *e)
{
	char **av = calloc((size_t)argc + 1, sizeof(*av));
	int ret;

	if (!av)
		return kb_errf(e, -ENOMEM, "out of memory");
	memcpy(av, argv, (size_t)argc * sizeof(*av));
	ret = cli_parse(argc, av, suite, o, e);
	free(av);
	return ret;
}

static int cli_parse(int argc, char **argv, bool suite, struct kb_run_opts *o, struct kb_err *e)
{
	const char *cmd = suite ? "suite" : "run";
	int c, ret = 0;

	memset(o, 0, sizeof(*o));
	o->duration_s = 5;
	o->warmup_s = 1;
	o->repeat = 1;
	o->topology = "real";
	o->duration_scale = 1;
	o->rcu_queues = KS_RCU_QUEUES_PERCPU;
	opterr = 0;
	optind = 0; /* glibc: a full reset, so tests can parse again */
	while (!ret && (c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		uint64_t u;

		if (suite && run_only(c))
			return kb_errf(e, -EINVAL,
				       "suite takes no --%s (see kscale-bench help suite)",
				       opt_name(c));
		switch (c) {
		case OPT_STRATEGY:
			o->strategies = optarg;
			break;
		case OPT_THREADS:
			o->threads = optarg;
			break;
		case OPT_DURATION:
			ret = parse_seconds("duration", optarg, false, &o->duration_s, e);
			break;
		case OPT_WARMUP:
			ret = parse_seconds("warmup", optarg, true, &o->warmup_s, e);
			break;
		case OPT_REPEAT:
			if (kb_parse_u64(optarg, &u) || u < 1 || u > 1000)
				ret = kb_errf(e, -EINVAL, "--repeat '%s': expected 1 to 1000",
					      optarg);
			o->repeat = (int)u;
			break;
		case OPT_TOPOLOGY:
			o->topology = optarg;
			break;
		case OPT_PARAM:
			if (o->nr_params == KB_MAX_PARAM_ARGS)
				return kb_errf(e, -E2BIG, "more than %d --param",
					       KB_MAX_PARAM_ARGS);
			o->params[o->nr_params++] = optarg;
			break;
		case OPT_JSON:
			o->json = optarg;
			break;
		case OPT_CSV:
			o->csv = optarg;
			break;
		case OPT_PLOT:
			o->plot = optarg;
			break;
		case OPT_FORMAT:
			ret = parse_choice("format", optarg, "native", KB_FORMAT_NATIVE, "gbench",
					   KB_FORMAT_GBENCH, &u, e);
			if (!ret)
				o->format = (enum kb_format)u;
			break;
		case OPT_DURATION_SCALE:
			if (!suite)
				return kb_errf(
					e, -EINVAL,
					"--duration-scale is for suite; run takes --duration");
			if (kb_parse_double(optarg, &o->duration_scale) || o->duration_scale <= 0 ||
			    o->duration_scale > 1000)
				ret = kb_errf(e, -EINVAL,
					      "--duration-scale '%s': expected a number > 0",
					      optarg);
			break;
		case OPT_WORKLOAD:
			if (!suite)
				return kb_errf(e, -EINVAL,
					       "--workload is for suite; run takes the workload as its operand");
			o->workload = optarg;
			ret = kb_suite_workloads_check(optarg, e);
			break;
		case OPT_RCU_QUEUES:
			ret = parse_choice("rcu-queues", optarg, "percpu", KS_RCU_QUEUES_PERCPU,
					   "shared", KS_RCU_QUEUES_SHARED, &u, e);
			if (!ret)
				o->rcu_queues = (enum ks_rcu_queues)u;
			break;
		case 'h':
			o->help = true;
			break;
		case ':':
			return kb_errf(e, -EINVAL, "%s needs a value (see kscale-bench help %s)",
				       argv[optind - 1], cmd);
		default:
			return kb_errf(e, -EINVAL, "unknown option '%s' (see kscale-bench help %s)",
				       argv[optind - 1], cmd);
		}
	}
	if (ret || o->help)
		return ret;
	if (o->format == KB_FORMAT_GBENCH && !o->json)
		return kb_errf(e, -EINVAL,
			       "--format gbench applies to --json F, and there is none");
	if (suite) {
		if (optind < argc)
			return kb_errf(e, -EINVAL, "suite takes no operand ('%s')", argv[optind]);
		return 0;
	}
	if (optind >= argc)
		return kb_errf(e, -EINVAL, "run needs a WORKLOAD (see kscale-bench list)");
	if (optind + 1 < argc)
		return kb_errf(e, -EINVAL, "run takes one WORKLOAD; '%s' is extra",
			       argv[optind + 1]);
	o->workload = argv[optind];
	return 0;
}
