// SPDX-License-Identifier: Apache-2.0
/*
 * An exec storm of short-lived TLS clients for FaultIT: the driver keeps PARALLEL clients running
 * for SECONDS, each a fresh exec of this program (so each maps the system's libssl anew: the
 * uprobes must follow), and kills every KILL_EVERY-th client with SIGKILL 0-20 ms after its start,
 * mid-handshake or mid-request. Each client makes one HTTPS/1.1 request with its own path.
 *
 *   exec_storm PORT SECONDS PARALLEL KILL_EVERY      the driver
 *   exec_storm --client PORT NUMBER                   one client (exit 0: answered 200)
 *
 * The driver prints "200 /x-N" for each answered client and, at the end,
 * "started S answered A killed K failed F".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_PARALLEL 256

static int client(int port, long number)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx)
		return 1;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
	inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0)
		return 1;
	SSL *ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	if (SSL_connect(ssl) != 1)
		return 1;
	char request[128];
	int length = snprintf(request, sizeof(request),
			      "GET /x-%ld HTTP/1.1\r\nHost: storm\r\nConnection: close\r\n\r\n", number);
	if (SSL_write(ssl, request, length) != length)
		return 1;
	char response[4096];
	int got = 0, n;
	while (got < (int)sizeof(response) - 1 && (n = SSL_read(ssl, response + got, sizeof(response) - 1 - got)) > 0)
		got += n;
	response[got] = 0;
	SSL_shutdown(ssl);
	close(fd);
	return strncmp(response, "HTTP/1.1 200", 12) == 0 ? 0 : 1;
}

static long now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000L + t.tv_nsec;
}

struct child {
	pid_t pid;
	long number;
	long kill_at; /* 0: let it run */
	int killed;
};

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "--client") == 0)
		return client(atoi(argv[2]), atol(argv[3]));
	if (argc != 5) {
		fprintf(stderr, "usage: %s PORT SECONDS PARALLEL KILL_EVERY | --client PORT NUMBER\n", argv[0]);
		return 2;
	}
	const char *port = argv[1];
	long end = now_ns() + atol(argv[2]) * 1000000000L;
	int parallel = atoi(argv[3]);
	long kill_every = atol(argv[4]);
	if (parallel < 1 || parallel > MAX_PARALLEL)
		return 2;
	struct child children[MAX_PARALLEL] = {0};
	long started = 0, answered = 0, killed = 0, failed = 0;
	int running = 0;
	srand(7);
	while (running > 0 || now_ns() < end) {
		for (int i = 0; i < parallel && now_ns() < end; i++) {
			if (children[i].pid)
				continue;
			long number = ++started;
			char text[32];
			snprintf(text, sizeof(text), "%ld", number);
			pid_t pid = fork();
			if (pid == 0) {
				execl("/proc/self/exe", argv[0], "--client", port, text, (char *)NULL);
				_exit(127);
			}
			if (pid < 0) {
				started--;
				break;
			}
			children[i] = (struct child){.pid = pid, .number = number};
			if (kill_every > 0 && number % kill_every == 0)
				children[i].kill_at = now_ns() + (rand() % 20000) * 1000L;
			running++;
		}
		int status;
		pid_t done;
		while ((done = waitpid(-1, &status, WNOHANG)) > 0) {
			for (int i = 0; i < parallel; i++) {
				if (children[i].pid != done)
					continue;
				if (WIFSIGNALED(status))
					killed++;
				else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
					answered++;
					printf("200 /x-%ld\n", children[i].number);
				} else
					failed++;
				children[i].pid = 0;
				running--;
			}
		}
		long t = now_ns();
		for (int i = 0; i < parallel; i++) {
			if (children[i].pid && children[i].kill_at && !children[i].killed && t >= children[i].kill_at) {
				kill(children[i].pid, SIGKILL);
				children[i].killed = 1;
			}
		}
		struct timespec pause = {0, 200000};
		nanosleep(&pause, NULL);
	}
	printf("started %ld answered %ld killed %ld failed %ld\n", started, answered, killed, failed);
	return 0;
}
