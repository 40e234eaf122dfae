// SPDX-License-Identifier: Apache-2.0
/*
 * What one uprobe costs the traced program, for bench/tls-path.sh: calls a small function of this
 * program in a loop and prices each call, in ns (the median of 5 runs), with nothing attached and
 * with hooks from plaintext_hooks.bpf.o. On x86_64 the kernel emulates a few instructions at the
 * probe (push, nop, jmp/jcc/call) and single-steps all others out of line, a second exception; so
 * the function comes in two forms: one starting with push (where tlscap puts its EVP_KDF_derive
 * probe, see dev.tlscap.bpf.UprobeSite) and one starting with mov (like SSL_read's and SSL_write's
 * first instruction, sub, where eCapture-style hooks sit). Prints one line per case:
 *   uprobe_cost OBJECT [CALLS=200000]  ->  "none|emulated|stepped|stepped+ret|plaintext ns_per_call"
 * and what a system call costs (for a program on every syscall, such as tlscap --socket-tracing, run beside it):
 *   uprobe_cost --syscalls [CALLS=200000]  ->  "write ns_per_call" (64 bytes to /dev/null), "getppid ns_per_call"
 */
#include <fcntl.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char buffer[4096];

/* SSL_read-shaped: (ssl, buf, num) -> 64 bytes "read" */
int target_emulated(void *ssl, void *buf, int num);
int target_stepped(void *ssl, void *buf, int num);
#if defined(__x86_64__)
__asm__(".text\n"
	".globl target_emulated\n.type target_emulated, @function\ntarget_emulated:\n"
	"\tpush %rbx\n\tmov $64, %eax\n\tpop %rbx\n\tret\n.size target_emulated, .-target_emulated\n"
	".globl target_stepped\n.type target_stepped, @function\ntarget_stepped:\n"
	"\tmov $64, %eax\n\tpush %rbx\n\tpop %rbx\n\tret\n.size target_stepped, .-target_stepped\n");
#else
__attribute__((noinline, used)) int target_emulated(void *ssl, void *buf, int num)
{
	__asm__ volatile("" : : "r"(ssl), "r"(buf) : "memory");
	return 64;
}
__attribute__((noinline, used)) int target_stepped(void *ssl, void *buf, int num)
{
	__asm__ volatile("" : : "r"(ssl), "r"(buf) : "memory");
	return 64;
}
#endif

static int drained;
static int handle(void *ctx, void *data, size_t size) { drained++; return 0; }

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

static double price(int (*target)(void *, void *, int), long calls, struct ring_buffer *rb)
{
	double runs[5];
	for (int r = 0; r < 5; r++) {
		double t0 = now();
		for (long i = 0; i < calls; i++) {
			target(NULL, buffer, sizeof(buffer));
			if (rb && (i & 255) == 255)
				ring_buffer__consume(rb);
		}
		runs[r] = (now() - t0) * 1e9 / calls;
	}
	qsort(runs, 5, sizeof(double), cmp);
	return runs[2];
}

static int devnull;

static double price_syscall(long calls, int write64)
{
	double runs[5];
	for (int r = 0; r < 5; r++) {
		double t0 = now();
		for (long i = 0; i < calls; i++) {
			if (write64) {
				if (write(devnull, buffer, 64) != 64)
					abort();
			} else {
				getppid();
			}
		}
		runs[r] = (now() - t0) * 1e9 / calls;
	}
	qsort(runs, 5, sizeof(double), cmp);
	return runs[2];
}

static struct bpf_link *attach(struct bpf_object *obj, const char *prog, const char *self, const char *func, int ret)
{
	LIBBPF_OPTS(bpf_uprobe_opts, opts, .func_name = func, .retprobe = ret);
	struct bpf_link *link = bpf_program__attach_uprobe_opts(bpf_object__find_program_by_name(obj, prog), getpid(), self, 0, &opts);
	if (!link) {
		fprintf(stderr, "uprobe_cost: cannot attach %s\n", prog);
		exit(1);
	}
	return link;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s OBJECT [CALLS]\n", argv[0]);
		return 2;
	}
	long calls = argc > 2 ? atol(argv[2]) : 200000;
	if (strcmp(argv[1], "--syscalls") == 0) {
		devnull = open("/dev/null", O_WRONLY);
		price_syscall(calls / 10, 1);
		printf("write %.1f\n", price_syscall(calls, 1));
		printf("getppid %.1f\n", price_syscall(calls, 0));
		return 0;
	}
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return 1;
	self[n] = 0;
	struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
	if (!obj || bpf_object__load(obj)) {
		perror("uprobe_cost: load");
		return 1;
	}
	struct ring_buffer *rb = ring_buffer__new(bpf_map__fd(bpf_object__find_map_by_name(obj, "events")), handle, NULL, NULL);

	price(target_stepped, calls / 10, NULL);
	printf("none %.1f\n", price(target_stepped, calls, NULL));
	struct bpf_link *a = attach(obj, "empty_entry", self, "target_emulated", 0);
	printf("emulated %.1f\n", price(target_emulated, calls, NULL));
	bpf_link__destroy(a);
	a = attach(obj, "empty_entry", self, "target_stepped", 0);
	printf("stepped %.1f\n", price(target_stepped, calls, NULL));
	struct bpf_link *b = attach(obj, "empty_return", self, "target_stepped", 1);
	printf("stepped+ret %.1f\n", price(target_stepped, calls, NULL));
	bpf_link__destroy(a);
	bpf_link__destroy(b);
	a = attach(obj, "ssl_read_entry", self, "target_stepped", 0);
	b = attach(obj, "ssl_read_return", self, "target_stepped", 1);
	printf("plaintext %.1f\n", price(target_stepped, calls, rb));
	bpf_link__destroy(a);
	bpf_link__destroy(b);
	if (drained == 0)
		fprintf(stderr, "uprobe_cost: the plaintext hooks recorded nothing\n");
	ring_buffer__free(rb);
	bpf_object__close(obj);
	return 0;
}
