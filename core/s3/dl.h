/* dl.h — private to download.c and dlcheck.c: a download's pieces and state, and what checks it. */
#ifndef AWSBOX_DL_H
#define AWSBOX_DL_H
#include "xfer.h"

enum { V_NONE, V_CRC, V_COMPOSITE, V_SEQ };

struct piece {
	int64_t off, len;       /* planned (ranges) or learned from Content-Range (parts) */
	int64_t got;
	struct s3_sum sum;
	char ck[100];           /* parts: the part's checksum as S3 sent it */
	char *mem;              /* stream output: the piece's data until its turn; file output: the batch */
	size_t memcap;          /* mem's size */
	int done;
	int direct;             /* stream output: its worker writes it (stream_take), mem the batch */
};

/* A buffer given back, for the next piece: its pages are mapped already. */
struct spare {
	char *p;
	size_t cap;
};

struct dl {
	const char *bucket, *key;
	const struct s3obj *o;
	int fd, seekable;
	int listed, ck_wanted;  /* o->listed: the plan waits for the GET's answer, and got holds it */
	int redo;               /* the answer showed an object whose check needs HeadObject first */
	struct s3obj got;
	int parts;              /* pieces are ?partNumber GETs */
	int verify, ck;
	int n;
	struct piece *pc;
	int written;            /* stream output: pieces written (atomic stores: stream_take reads it unlocked) */
	int writing;            /* stream output: a thread is writing to fd (p->m) */
	struct s3_sum seq;      /* V_SEQ on a stream: the digest in write order */
	int64_t cap;            /* stream output: the most we hold (concurrency x part size) */
	int window;             /* stream output: pieces fetched ahead of the writer */
	int64_t p1;             /* parts: the size of part 1 */
	struct spare *spare;    /* buffers given back (under the pool's lock); one per worker at most */
	int nspare, maxspare;
	/* File output: one pwrite at a time. Eight threads writing one file meet on its inode lock
	 * in the kernel, which spins while a writer on the other CPU holds it; here they sleep. */
	pthread_mutex_t wlock;
};

/* dlcheck.c: what can be checked and how to fetch it (o known), a composite checksum's part
 * against its own, and the whole download against what S3 stored (0, or -1 with e). */
void dl_plan(struct xfer *x, struct dl *d, int ck_wanted);
int dl_part_check(struct dl *d, int i, struct err *e);
int dl_verify(struct xfer *x, struct dl *d, struct err *e);

#endif
