// SPDX-License-Identifier: MIT
/*
 * The running kernel as oracle for the slabinfo model: the header of the
 * real /proc/slabinfo must equal ours byte for byte, every real row must
 * parse with our parser and satisfy the invariants our rows keep, and every
 * read() of the real file returns at most one 4 KiB page, as the model's
 * seq_file does. Skips, saying why, where the file cannot be read (not
 * root, no CONFIG_SLUB_DEBUG/procfs, another OS).
 */
#include "ks_test.h"

#include <errno.h>
#include <fcntl.h>
#include <kscale/slab.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *slurp(size_t *len, size_t *reads, size_t *max_read, int *err)
{
	size_t cap = 1 << 22, used = 0;
	char *text, *buf;
	ssize_t n;
	int fd = open("/proc/slabinfo", O_RDONLY);

	*err = 0;
	*reads = 0;
	*max_read = 0;
	if (fd < 0) {
		*err = errno;
		return NULL;
	}
	text = malloc(cap);
	buf = malloc(1 << 20);
	assert_non_null(text);
	assert_non_null(buf);
	while ((n = read(fd, buf, 1 << 20)) > 0) {
		assert_true(used + (size_t)n < cap);
		memcpy(text + used, buf, (size_t)n);
		used += (size_t)n;
		(*reads)++;
		if ((size_t)n > *max_read)
			*max_read = (size_t)n;
	}
	if (n < 0)
		*err = errno;
	close(fd);
	free(buf);
	text[used] = 0;
	*len = used;
	return text;
}

static void test_real_slabinfo(void **state)
{
	size_t len = 0, reads = 0, max_read = 0, hlen = strlen(ks_slabinfo_header);
	struct ks_slabinfo_row r;
	int err, rows = 0;
	char *text, *p, *nl;

	(void)state;
	text = slurp(&len, &reads, &max_read, &err);
	if (!text || err) {
		print_message("skip: /proc/slabinfo unreadable: %s (needs root and SLUB/SLAB)\n",
			      strerror(err));
		free(text);
		skip();
	}
	assert_true(len > hlen);
	assert_memory_equal(text, ks_slabinfo_header, hlen);
	assert_true(max_read <= 4096);
	assert_true(reads >= len / 4096);
	for (p = text + hlen; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		assert_non_null(nl);
		*nl = 0;
		if (ks_slabinfo_parse_row(p, &r))
			fail_msg("row does not parse: \"%s\"", p);
		assert_true(r.active_objs <= r.num_objs);
		/* SLUB: num_objs = num_slabs * objperslab, no shared arrays */
		assert_int_equal(r.num_objs, r.num_slabs * r.objperslab);
		assert_int_equal(r.active_slabs, r.num_slabs);
		assert_int_equal(r.sharedavail, 0);
		rows++;
	}
	assert_true(rows > 10);
	print_message("%d rows, %zu bytes in %zu reads (largest %zu)\n", rows, len, reads,
		      max_read);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_slabinfo),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
