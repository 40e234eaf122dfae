// SPDX-License-Identifier: Apache-2.0
/* The traced program of UprobeKernelTest: waits for a line on stdin, then calls
 * tlscap_test_function(i) for i in 0..N-1 and prints the sum. */
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline, noipa, used)) int tlscap_test_function(int x)
{
	__asm__ volatile("" ::: "memory");
	return 2 * x + 1;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1;
	char line[32];
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	long sum = 0;
	for (int i = 0; i < n; i++)
		sum += tlscap_test_function(i);
	printf("done %ld\n", sum);
	return 0;
}
