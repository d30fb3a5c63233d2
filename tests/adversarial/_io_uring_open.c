// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Open PATH and read it through io_uring alone (IORING_OP_OPENAT and
 * IORING_OP_READ), with raw system calls: what an agent would do so that no
 * open system call is seen. Prints "READ <bytes>" and exits 0 when it read
 * the file; "SETUP <errno name>" and exits 3 when io_uring_setup failed;
 * other failures exit 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

struct ring {
	int fd;
	unsigned *sq_tail, *sq_mask, *sq_array, *cq_head, *cq_tail, *cq_mask;
	struct io_uring_sqe *sqes;
	struct io_uring_cqe *cqes;
};

static int one(struct ring *r, const struct io_uring_sqe *sqe)
{
	unsigned tail = *r->sq_tail, head;
	struct io_uring_cqe *cqe;

	r->sqes[tail & *r->sq_mask] = *sqe;
	r->sq_array[tail & *r->sq_mask] = tail & *r->sq_mask;
	__atomic_store_n(r->sq_tail, tail + 1, __ATOMIC_RELEASE);
	if (syscall(__NR_io_uring_enter, r->fd, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) < 0) {
		printf("ENTER %s\n", strerrorname_np(errno));
		exit(1);
	}
	head = __atomic_load_n(r->cq_head, __ATOMIC_ACQUIRE);
	if (head == __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE)) {
		printf("NO COMPLETION\n");
		exit(1);
	}
	cqe = &r->cqes[head & *r->cq_mask];
	__atomic_store_n(r->cq_head, head + 1, __ATOMIC_RELEASE);
	return cqe->res;
}

int main(int argc, char **argv)
{
	struct io_uring_params p = {0};
	struct io_uring_sqe sqe;
	struct ring r;
	char buf[4096];
	size_t sqsz, cqsz;
	void *sq, *cq;
	int fd, n;

	if (argc != 2)
		return 2;
	r.fd = (int)syscall(__NR_io_uring_setup, 4, &p);
	if (r.fd < 0) {
		printf("SETUP %s\n", strerrorname_np(errno));
		return 3;
	}
	sqsz = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	cqsz = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	if (cqsz > sqsz)
		sqsz = cqsz;
	sq = mmap(NULL, sqsz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r.fd,
		  IORING_OFF_SQ_RING);
	cq = sq; /* IORING_FEAT_SINGLE_MMAP (every kernel since 5.4) */
	r.sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_POPULATE, r.fd, IORING_OFF_SQES);
	if (sq == MAP_FAILED || r.sqes == MAP_FAILED || !(p.features & IORING_FEAT_SINGLE_MMAP)) {
		printf("MMAP failed\n");
		return 1;
	}
	r.sq_tail = (unsigned *)((char *)sq + p.sq_off.tail);
	r.sq_mask = (unsigned *)((char *)sq + p.sq_off.ring_mask);
	r.sq_array = (unsigned *)((char *)sq + p.sq_off.array);
	r.cq_head = (unsigned *)((char *)cq + p.cq_off.head);
	r.cq_tail = (unsigned *)((char *)cq + p.cq_off.tail);
	r.cq_mask = (unsigned *)((char *)cq + p.cq_off.ring_mask);
	r.cqes = (struct io_uring_cqe *)((char *)cq + p.cq_off.cqes);

	memset(&sqe, 0, sizeof(sqe));
	sqe.opcode = IORING_OP_OPENAT;
	sqe.fd = AT_FDCWD;
	sqe.addr = (unsigned long)argv[1];
	sqe.open_flags = O_RDONLY;
	fd = one(&r, &sqe);
	if (fd < 0) {
		printf("OPENAT %s\n", strerrorname_np(-fd));
		return 1;
	}
	memset(&sqe, 0, sizeof(sqe));
	sqe.opcode = IORING_OP_READ;
	sqe.fd = fd;
	sqe.addr = (unsigned long)buf;
	sqe.len = sizeof(buf) - 1;
	n = one(&r, &sqe);
	if (n < 0) {
		printf("READ-FAILED %s\n", strerrorname_np(-n));
		return 1;
	}
	buf[n] = '\0';
	printf("READ %s\n", buf);
	return 0;
}
