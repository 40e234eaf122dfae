// SPDX-License-Identifier: Apache-2.0
/*
 * The C side of bench/ringbuf-drain.sh: drains the same full ring as RingBufferDrainBench, with
 * libbpf's ring_buffer__consume (a C callback per record). Usage:
 *   ringbuf_drain OBJECT RECORD_SIZE RING_MIB ROUNDS  ->  prints "c RECORD_SIZE median_records_per_second"
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct produce_args { unsigned count, record_size, discard_every, pad; };

static unsigned long long checksum;

static int handle(void *ctx, void *data, size_t size)
{
	checksum += *(unsigned long long *)data + size;
	return 0;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: %s OBJECT RECORD_SIZE RING_MIB ROUNDS\n", argv[0]);
		return 2;
	}
	unsigned record_size = atoi(argv[2]);
	unsigned ring_bytes = atoi(argv[3]) << 20;
	int rounds = atoi(argv[4]);
	unsigned per_record = (record_size + 8 + 7) & ~7u;
	unsigned count = ring_bytes / per_record;

	struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) { perror("open"); return 1; }
	bpf_map__set_max_entries(bpf_object__find_map_by_name(obj, "ring"), ring_bytes);
	if (bpf_object__load(obj)) { perror("load"); return 1; }
	int prog = bpf_program__fd(bpf_object__find_program_by_name(obj, "produce"));
	struct ring_buffer *rb = ring_buffer__new(bpf_map__fd(bpf_object__find_map_by_name(obj, "ring")), handle, NULL, NULL);
	if (!rb) { perror("ring_buffer__new"); return 1; }

	struct produce_args args = { count, record_size, 0, 0 };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &args, .ctx_size_in = sizeof(args));
	double *rates = calloc(rounds, sizeof(double));
	for (int r = -3; r < rounds; r++) {
		if (bpf_prog_test_run_opts(prog, &opts)) { perror("test_run"); return 1; }
		double start = now();
		int n = ring_buffer__consume(rb);
		double elapsed = now() - start;
		if ((unsigned)n != count) { fprintf(stderr, "drained %d of %u\n", n, count); return 1; }
		if (r >= 0)
			rates[r] = n / elapsed;
	}
	qsort(rates, rounds, sizeof(double), cmp);
	printf("c %u %.0f\n", record_size, rates[rounds / 2]);
	if (checksum == 42)
		printf("\n");
	ring_buffer__free(rb);
	bpf_object__close(obj);
	return 0;
}
