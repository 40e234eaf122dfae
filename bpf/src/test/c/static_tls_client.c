// SPDX-License-Identifier: Apache-2.0
/*
 * A TLS client linked statically against OpenSSL (libssl.a, libcrypto.a): the "static server"
 * case of TlsSecretsKernelTest, traced through --libssl. It writes its own key log (the reference)
 * with SSL_CTX_set_keylog_callback.  Usage: static_tls_client PORT KEYLOG COUNT [tls1.2]
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static FILE *keylog;

static void log_line(const SSL *ssl, const char *line)
{
	(void)ssl;
	fprintf(keylog, "%s\n", line);
	fflush(keylog);
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: %s PORT KEYLOG COUNT [tls1.2]\n", argv[0]);
		return 2;
	}
	int port = atoi(argv[1]);
	keylog = fopen(argv[2], "a");
	int count = atoi(argv[3]);
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!keylog || !ctx)
		return 1;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_keylog_callback(ctx, log_line);
	if (argc > 4 && strcmp(argv[4], "tls1.2") == 0)
		SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
	for (int i = 0; i < count; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
		inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
		if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
			perror("connect");
			return 1;
		}
		SSL *ssl = SSL_new(ctx);
		SSL_set_fd(ssl, fd);
		if (SSL_connect(ssl) != 1) {
			ERR_print_errors_fp(stderr);
			return 1;
		}
		const char *request = "GET /static-client HTTP/1.0\r\n\r\n";
		SSL_write(ssl, request, strlen(request));
		char buffer[4096];
		long total = 0;
		int n;
		while ((n = SSL_read(ssl, buffer, sizeof(buffer))) > 0)
			total += n;
		printf("connection %d: %ld bytes\n", i, total);
		SSL_shutdown(ssl);
		SSL_free(ssl);
		close(fd);
	}
	SSL_CTX_free(ctx);
	fclose(keylog);
	return 0;
}
