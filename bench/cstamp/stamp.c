/*
 * stamp, in C: the command every tool under test starts, when a C compiler
 * is at hand (run.sh builds it with `gcc -static -O2`; otherwise it builds
 * cmd/stamp, the same program in Go, whose runtime start adds a millisecond
 * or two before the first action). Same usage and output as cmd/stamp:
 *
 *	stamp OUT [ARGS...]
 *
 * First action: clock_gettime(CLOCK_MONOTONIC). Then it writes to OUT, by
 * rename: "t NANOSECONDS", "pid PID", one "arg HEX" line per ARG, and with
 * STAMP_STDIN=1 "stdin HEX" with what it read (up to 64 KiB). It exits
 * with STAMP_EXIT (default 0).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void hex(FILE *f, const char *key, const unsigned char *p, size_t n)
{
	fprintf(f, "%s ", key);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%02x", p[i]);
	fputc('\n', f);
}

int main(int argc, char **argv)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 100;
	if (argc < 2) {
		fputs("stamp: usage: stamp OUT [ARGS...]\n", stderr);
		return 100;
	}
	char tmp[4096];
	if (snprintf(tmp, sizeof tmp, "%s.tmp", argv[1]) >= (int)sizeof tmp)
		return 100;
	FILE *f = fopen(tmp, "w");
	if (f == NULL) {
		perror("stamp");
		return 100;
	}
	fprintf(f, "t %lld\npid %d\n", (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec, (int)getpid());
	for (int i = 2; i < argc; i++)
		hex(f, "arg", (const unsigned char *)argv[i], strlen(argv[i]));
	const char *s = getenv("STAMP_STDIN");
	if (s != NULL && strcmp(s, "1") == 0) {
		static unsigned char buf[64 << 10];
		size_t n = 0;
		ssize_t r;
		while (n < sizeof buf && (r = read(0, buf + n, sizeof buf - n)) > 0)
			n += (size_t)r;
		hex(f, "stdin", buf, n);
	}
	if (fclose(f) != 0 || rename(tmp, argv[1]) != 0) {
		perror("stamp");
		return 100;
	}
	const char *e = getenv("STAMP_EXIT");
	return e != NULL ? atoi(e) : 0;
}
