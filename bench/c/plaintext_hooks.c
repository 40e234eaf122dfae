// SPDX-License-Identifier: Apache-2.0
/*
 * The loader of plaintext_hooks.bpf.o for bench/tls-path.sh: attaches eCapture-style plaintext hooks
 * (uprobe + uretprobe on SSL_write and SSL_read of one libssl, every process), drains their ring
 * buffer until SIGTERM/SIGINT, then prints the counters. Prints "ready" on stderr once attached.
 *   plaintext_hooks OBJECT LIBSSL
 * With a FUNCTION, counts the calls of FUNCTION in LIBRARY (an empty uprobe) instead:
 *   plaintext_hooks OBJECT LIBRARY FUNCTION   ->  "plaintext_hooks: N calls of FUNCTION" at exit
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static volatile sig_atomic_t stop;
static unsigned long long events, event_bytes;

static void on_signal(int sig) { stop = 1; }

static int handle(void *ctx, void *data, size_t size)
{
	events++;
	event_bytes += size;
	return 0;
}

static int attach(struct bpf_object *obj, const char *prog, const char *lib, const char *func, int ret)
{
	LIBBPF_OPTS(bpf_uprobe_opts, opts, .func_name = func, .retprobe = ret);
	struct bpf_link *link = bpf_program__attach_uprobe_opts(bpf_object__find_program_by_name(obj, prog), -1, lib, 0, &opts);
	if (!link) {
		fprintf(stderr, "plaintext_hooks: cannot attach %s to %s in %s\n", prog, func, lib);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 3 && argc != 4) {
		fprintf(stderr, "usage: %s OBJECT LIBSSL | OBJECT LIBRARY FUNCTION\n", argv[0]);
		return 2;
	}
	struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
	if (!obj || bpf_object__load(obj)) {
		perror("plaintext_hooks: load");
		return 1;
	}
	if (argc == 4) {
		if (attach(obj, "empty_entry", argv[2], argv[3], 0))
			return 1;
	} else if (attach(obj, "ssl_write_entry", argv[2], "SSL_write", 0) || attach(obj, "ssl_write_return", argv[2], "SSL_write", 1) ||
		   attach(obj, "ssl_read_entry", argv[2], "SSL_read", 0) || attach(obj, "ssl_read_return", argv[2], "SSL_read", 1)) {
		return 1;
	}
	struct ring_buffer *rb = ring_buffer__new(bpf_map__fd(bpf_object__find_map_by_name(obj, "events")), handle, NULL, NULL);
	if (!rb) {
		perror("plaintext_hooks: ring_buffer__new");
		return 1;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	fprintf(stderr, "ready\n");
	while (!stop)
		ring_buffer__poll(rb, 200);
	ring_buffer__consume(rb);
	/* the global counters live in the .bss map */
	struct bpf_map *bss = bpf_object__find_map_by_name(obj, ".bss");
	unsigned long long counters[4] = {0}; /* struct stats of plaintext_hooks.bpf.c */
	int zero = 0;
	if (bss)
		bpf_map_lookup_elem(bpf_map__fd(bss), &zero, counters);
	if (argc == 4)
		fprintf(stderr, "plaintext_hooks: %llu calls of %s\n", counters[3], argv[3]);
	else
		fprintf(stderr, "plaintext_hooks: %llu calls, %llu bytes copied, %llu lost; %llu events drained (%llu bytes)\n",
		counters[0], counters[1], counters[2], events, event_bytes);
	ring_buffer__free(rb);
	bpf_object__close(obj);
	return 0;
}
