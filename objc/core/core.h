/* core.h — core's own objects: handle table, devices, buffers, batches. */
#ifndef BN_CORE_CORE_H
#define BN_CORE_CORE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/backend.h"

void bn_clear_error(void);
/* Copies text into buf (cap bytes, NUL-terminated); returns strlen(text). */
uint32_t bn_copy_text(const char* text, char* buf, uint32_t cap);

/* ---- handle table -------------------------------------------------------------------
 * A handle is (kind << 44) | (generation << 24) | slot, below 2^53 and never 0. Objects
 * are reference counted: the table holds one reference while the handle is live, and
 * bn_handle_get takes another that the caller drops with bn_obj_put. */
enum { BN_KIND_DEVICE = 1, BN_KIND_BUFFER = 2, BN_KIND_BATCH = 3 };

typedef struct bn_obj {
  uint32_t kind;
  atomic_int refs;
  uint64_t handle;
  void (*destroy)(struct bn_obj*);
} bn_obj_t;

/* Registers obj (refs must be 1: the table's) and writes its handle. */
int32_t bn_handle_add(bn_obj_t* obj, uint64_t* out_handle);
/* Looks up a live handle of that kind and takes a reference, or NULL (error recorded). */
bn_obj_t* bn_handle_get(uint64_t handle, uint32_t kind);
/* Removes the handle and drops the table's reference. false if it was not live. */
bool bn_handle_remove(uint64_t handle);
void bn_obj_ref(bn_obj_t* obj);
void bn_obj_put(bn_obj_t* obj);

/* ---- devices, buffers, batches ---------------------------------------------------------- */
/* One backend allocation as core tracks it (the pool's free lists link these). */
typedef struct bn_block {
  bn_mem_t mem;
  uint32_t cls; /* size class */
  struct bn_block* next;
} bn_block_t;

typedef struct bn_buf bn_buf_t;
typedef struct bn_batch bn_batch_t;

#define BN_POOL_CLASSES 96

typedef struct bn_dev {
  bn_obj_t obj;
  const bn_backend_t* be;
  void* impl;
  bn_device_info_t info;
  pthread_mutex_t lock; /* serialises every backend call and the lists below */
  bool closed;
  bn_buf_t* buffers;    /* live buffers (doubly linked) */
  bn_batch_t* batches;  /* live batches (doubly linked) */
  struct bn_block* pool[BN_POOL_CLASSES][2]; /* cached memory per size class, storage */
  bn_pool_stats_t stats;
  uint64_t pool_cap;    /* bytes_cached never exceeds this */
  char last_error[1024];
} bn_dev_t;

struct bn_buf {
  bn_obj_t obj;
  bn_dev_t* dev;        /* holds a reference */
  bn_block_t* block;    /* NULL once the device closed */
  uint64_t size;        /* bytes asked for */
  uint32_t storage;
  bn_buf_t *prev, *next;
};

/* Copies the calling thread's last error into dev->last_error. */
void bn_dev_record_error(bn_dev_t* dev);
/* Returns a block to dev's pool or frees it; dev->lock held. */
void bn_pool_release(bn_dev_t* dev, bn_block_t* block);
/* Frees every cached block; dev->lock held. */
void bn_pool_drain(bn_dev_t* dev);
/* Takes dev's batch list (dev->lock held); bn_batches_remove_all then removes their
 * handles with the lock released. */
bn_batch_t* bn_batches_detach(bn_dev_t* dev);
void bn_batches_remove_all(bn_batch_t* list);

#endif /* BN_CORE_CORE_H */
