// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * hookcost OBJECT PROGRAM...
 *
 * Loads OBJECT (hookcost.bpf.o), attaches the named programs, prints
 * "ready" and holds them until SIGTERM or SIGINT (bench/hookcost.py).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/libbpf.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int wanted(const char *name, int argc, char **argv)
{
	for (int i = 2; i < argc; i++)
		if (!strcmp(argv[i], name))
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	struct bpf_program *p;
	struct bpf_object *o;
	int found = 0, err;

	if (argc < 3) {
		fprintf(stderr, "usage: hookcost OBJECT PROGRAM...\n");
		return 2;
	}
	o = bpf_object__open_file(argv[1], NULL);
	if (!o) {
		fprintf(stderr, "hookcost: open %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	bpf_object__for_each_program (p, o) {
		int w = wanted(bpf_program__name(p), argc, argv);

		bpf_program__set_autoload(p, w);
		found += w;
	}
	if (found != argc - 2) {
		fprintf(stderr, "hookcost: %s: %d of the %d programs named exist\n", argv[1], found,
			argc - 2);
		return 2;
	}
	err = bpf_object__load(o);
	if (err) {
		fprintf(stderr, "hookcost: load %s: %s\n", argv[1], strerror(-err));
		return 1;
	}
	bpf_object__for_each_program (p, o) {
		if (bpf_program__autoload(p) && !bpf_program__attach(p)) {
			fprintf(stderr, "hookcost: attach %s: %s\n", bpf_program__name(p),
				strerror(errno));
			return 1;
		}
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	printf("ready\n");
	fflush(stdout);
	while (!stop)
		pause();
	bpf_object__close(o);
	return 0;
}
