/* The store: objects (in tmpfs files) and multipart uploads, by bucket and key. */
#include "sink.h"

#define NHASH 4096
struct obj *g_objs[NHASH];
struct upload *g_uploads;
unsigned long g_ids;

static unsigned
hash(const char *b, const char *k)
{
	unsigned h = 2166136261u;

	for (; *b; b++)
		h = (h ^ (unsigned char)*b) * 16777619u;
	h = (h ^ '/') * 16777619u;
	for (; *k; k++)
		h = (h ^ (unsigned char)*k) * 16777619u;
	return h % NHASH;
}

/* Freed blobs keep their tmpfs pages for the next upload: on this kind of VM, writing fresh
 * tmpfs pages costs 2-5x more than rewriting allocated ones, and would make the sink the
 * bottleneck. At most g_pool_max bytes are kept. A blob's refs change only under g_m, or while
 * no one else can see it. */
static struct pooled {
	int fd;
	int64_t cap;
	struct pooled *next;
} *g_pool;
static int64_t g_pool_bytes;
int64_t g_pool_max = (int64_t)4 << 30;
static pthread_mutex_t g_pm = PTHREAD_MUTEX_INITIALIZER; /* the pool's own lock: blob_put runs with or without g_m */

void
blob_put(struct blob *b)
{
	if (!b || --b->refs)
		return;
	pthread_mutex_lock(&g_pm);
	if (b->fd >= 0 && g_pool_bytes + b->size <= g_pool_max && b->size > 0) {
		struct pooled *p = malloc(sizeof *p);
		p->fd = b->fd;
		p->cap = b->size;
		p->next = g_pool;
		g_pool = p;
		g_pool_bytes += b->size;
		b->fd = -1;
	}
	pthread_mutex_unlock(&g_pm);
	if (b->fd >= 0)
		close(b->fd);
	free(b->mem);
	free(b);
}

/* A file for a new blob: a pooled one (rewritten from offset 0), else a new unnamed file. */
int
blob_file(void)
{
	pthread_mutex_lock(&g_pm);
	struct pooled *p = g_pool;
	if (p) {
		g_pool = p->next;
		g_pool_bytes -= p->cap;
	}
	pthread_mutex_unlock(&g_pm);
	if (!p)
		return open(g_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	int fd = p->fd;
	free(p);
	lseek(fd, 0, SEEK_SET);
	return fd;
}

/* Fills the pool with n bytes of files of 8 MiB (the part size of both clients measured). */
void
pool_prealloc(int64_t n)
{
	char *z = calloc(1, 8 << 20);

	for (; n > 0; n -= 8 << 20) {
		struct blob *b = calloc(1, sizeof *b);
		b->fd = open(g_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
		b->refs = 1;
		b->size = 8 << 20;
		if (b->fd < 0 || write(b->fd, z, 8 << 20) != 8 << 20) {
			perror("s3sink: prealloc");
			exit(1);
		}
		blob_put(b);
	}
	free(z);
}

static void
obj_free(struct obj *o)
{
	for (int i = 0; i < o->nparts; i++)
		blob_put(o->parts[i]);
	free(o->parts);
	free(o->bucket);
	free(o->key);
	free(o);
}

/* With g_m held. */
void
obj_release(struct obj *o)
{
	if (--o->refs == 0 && o->dead)
		obj_free(o);
}

/* Unlinks bucket/key from the table (with g_m held); 1 if there was one. */
int
obj_unlink(const char *bucket, const char *key)
{
	struct obj **pp = &g_objs[hash(bucket, key)];

	for (; *pp; pp = &(*pp)->next)
		if (!strcmp((*pp)->bucket, bucket) && !strcmp((*pp)->key, key)) {
			struct obj *o = *pp;
			*pp = o->next;
			o->dead = 1;
			o->refs++;
			obj_release(o);
			return 1;
		}
	return 0;
}

struct obj *
obj_find(const char *bucket, const char *key)
{
	for (struct obj *o = g_objs[hash(bucket, key)]; o; o = o->next)
		if (!strcmp(o->bucket, bucket) && !strcmp(o->key, key))
			return o;
	return NULL;
}

/* Takes o (refs 0) into the table, replacing any object of its name. With g_m held. */
void
obj_insert(struct obj *o)
{
	obj_unlink(o->bucket, o->key);
	unsigned h = hash(o->bucket, o->key);
	o->next = g_objs[h];
	g_objs[h] = o;
}

/* Drops bucket's objects whose keys start with prefix. */
void
store_drop(const char *bucket, const char *prefix)
{
	size_t pl = strlen(prefix);

	pthread_mutex_lock(&g_m);
	for (int i = 0; i < NHASH; i++)
		for (struct obj *o = g_objs[i], *next; o; o = next) {
			next = o->next;
			if (!strcmp(o->bucket, bucket) && !strncmp(o->key, prefix, pl))
				obj_unlink(o->bucket, o->key);
		}
	pthread_mutex_unlock(&g_m);
}

void
store_reset(void)
{
	pthread_mutex_lock(&g_m);
	for (int i = 0; i < NHASH; i++)
		while (g_objs[i])
			obj_unlink(g_objs[i]->bucket, g_objs[i]->key);
	while (g_uploads) {
		struct upload *u = g_uploads;
		g_uploads = u->next;
		for (int i = 1; i <= MAXPARTS; i++)
			blob_put(u->parts[i]);
		free(u->bucket);
		free(u->key);
		free(u);
	}
	pthread_mutex_unlock(&g_m);
}


struct upload *
upload_take(const char *id)
{
	for (struct upload **pp = &g_uploads; *pp; pp = &(*pp)->next)
		if (!strcmp((*pp)->id, id)) {
			struct upload *u = *pp;
			*pp = u->next;
			return u;
		}
	return NULL;
}

void
upload_free(struct upload *u)
{
	for (int i = 1; i <= MAXPARTS; i++)
		blob_put(u->parts[i]);
	free(u->bucket);
	free(u->key);
	free(u);
}
