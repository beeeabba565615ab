/* batch.c — command batches: begin → encode (validated) → commit → wait.
 *
 * commit seals the batch; the first wait submits it to the backend and waits for it (wait
 * is a nonblocking FFI call, so that work runs off the JavaScript thread). Other waiters
 * block until it is done and get the same status. */
#define _GNU_SOURCE /* pthread_mutexattr_settype, clock_gettime under -std=c11 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/core.h"

enum { OPEN, COMMITTED, RUNNING, DONE };

struct bn_batch {
  bn_obj_t obj;
  bn_dev_t* dev; /* holds a reference */
  int state;
  bn_cmd_t* cmds;
  uint32_t n_cmds, cap_cmds;
  bn_buf_t** bufs; /* one reference each, dropped when the batch completes */
  uint32_t n_bufs, cap_bufs;
  int32_t status;
  char error[1024];
  double gpu_seconds, elapsed_seconds;
  struct timespec committed_at;
  pthread_mutex_t m;
  pthread_cond_t cv;
  bool listed; /* on dev->batches */
  bn_batch_t *prev, *next;
};

static double now_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void drop_buffers(bn_batch_t* b) {
  for (uint32_t i = 0; i < b->n_bufs; i++) bn_obj_put(&b->bufs[i]->obj);
  b->n_bufs = 0;
}

static void batch_destroy(bn_obj_t* obj) {
  bn_batch_t* b = (bn_batch_t*)obj;
  pthread_mutex_lock(&b->dev->lock);
  if (b->listed) {
    if (b->prev) b->prev->next = b->next; else b->dev->batches = b->next;
    if (b->next) b->next->prev = b->prev;
    b->listed = false;
  }
  pthread_mutex_unlock(&b->dev->lock);
  drop_buffers(b);
  bn_obj_put(&b->dev->obj);
  pthread_mutex_destroy(&b->m);
  pthread_cond_destroy(&b->cv);
  free(b->cmds);
  free(b->bufs);
  free(b);
}

bn_batch_t* bn_batches_detach(bn_dev_t* dev) {
  bn_batch_t* list = dev->batches;
  for (bn_batch_t* b = list; b; b = b->next) b->listed = false;
  dev->batches = NULL;
  return list;
}

void bn_batches_remove_all(bn_batch_t* list) {
  while (list) {
    bn_batch_t* next = list->next;
    list->prev = list->next = NULL;
    bn_handle_remove(list->obj.handle);
    list = next;
  }
}

BN_API int32_t bn_batch_begin(uint64_t device, uint64_t* out_batch) {
  bn_clear_error();
  if (!out_batch) return bn_fail(BN_ERR_INVALID_ARGUMENT, "out_batch is NULL");
  bn_dev_t* dev = (bn_dev_t*)bn_handle_get(device, BN_KIND_DEVICE);
  if (!dev) return BN_ERR_INVALID_HANDLE;
  bn_batch_t* b = calloc(1, sizeof *b);
  if (!b) {
    bn_obj_put(&dev->obj);
    return bn_fail(BN_ERR_OUT_OF_MEMORY, "batch allocation failed");
  }
  b->obj.kind = BN_KIND_BATCH;
  atomic_init(&b->obj.refs, 1);
  b->obj.destroy = batch_destroy;
  b->dev = dev; /* takes over the reference from bn_handle_get */
  b->gpu_seconds = b->elapsed_seconds = -1;
  pthread_mutex_init(&b->m, NULL);
  pthread_cond_init(&b->cv, NULL);
  pthread_mutex_lock(&dev->lock);
  int32_t st = BN_OK;
  if (dev->closed) {
    st = bn_fail(BN_ERR_INVALID_HANDLE, "device is closed");
  } else {
    b->next = dev->batches;
    if (dev->batches) dev->batches->prev = b;
    dev->batches = b;
    b->listed = true;
    st = bn_handle_add(&b->obj, out_batch);
  }
  pthread_mutex_unlock(&dev->lock);
  if (st != BN_OK) bn_obj_put(&b->obj);
  return st;
}

static int32_t add_buffer_ref(bn_batch_t* b, bn_buf_t* buf) {
  for (uint32_t i = 0; i < b->n_bufs; i++) {
    if (b->bufs[i] == buf) {
      bn_obj_put(&buf->obj); /* already held */
      return BN_OK;
    }
  }
  if (b->n_bufs == b->cap_bufs) {
    uint32_t cap = b->cap_bufs ? b->cap_bufs * 2 : 16;
    bn_buf_t** grown = realloc(b->bufs, cap * sizeof *grown);
    if (!grown) return bn_fail(BN_ERR_OUT_OF_MEMORY, "batch allocation failed");
    b->bufs = grown;
    b->cap_bufs = cap;
  }
  b->bufs[b->n_bufs++] = buf; /* keeps the reference bn_handle_get took */
  return BN_OK;
}

/* Validates and appends one command; on failure the batch is unchanged. */
static int32_t encode(bn_batch_t* b, uint32_t op, const void* params, uint32_t params_size,
                      const uint64_t* handles, uint32_t n_buffers) {
  const bn_op_desc_t* d = bn_op_get(op);
  if (!d) return bn_fail(BN_ERR_INVALID_ARGUMENT, "unknown op %u", op);
  if (!params || params_size != d->params_size) {
    return bn_fail(BN_ERR_INVALID_ARGUMENT, "[%s] expected %u bytes of params but received %u",
                   d->name, d->params_size, params_size);
  }
  if (!handles || n_buffers != d->n_buffers) {
    return bn_fail(BN_ERR_INVALID_ARGUMENT, "[%s] expected %u buffers but received %u", d->name,
                   d->n_buffers, n_buffers);
  }
  bn_cmd_t cmd;
  memset(&cmd, 0, sizeof cmd);
  cmd.op = op;
  memcpy(cmd.params, params, d->params_size);
  cmd.params_size = d->params_size;
  cmd.n_buffers = n_buffers;
  int32_t st = d->buffer_bytes(cmd.params, cmd.bytes);
  if (st != BN_OK) return st;
  if (!b->dev->be->supports_op(b->dev->impl, op)) {
    return bn_fail(BN_ERR_UNSUPPORTED, "[%s] is not supported on %s (%s)", d->name,
                   b->dev->be->name, b->dev->info.name);
  }
  bn_buf_t* bufs[8] = {0};
  for (uint32_t i = 0; i < n_buffers && st == BN_OK; i++) {
    bufs[i] = (bn_buf_t*)bn_handle_get(handles[i], BN_KIND_BUFFER);
    if (!bufs[i]) {
      st = bn_fail(BN_ERR_INVALID_HANDLE, "[%s] buffer %u is not live (freed or never valid)",
                   d->name, i);
    } else if (bufs[i]->dev != b->dev) {
      st = bn_fail(BN_ERR_WRONG_DEVICE, "[%s] buffer %u belongs to another device", d->name, i);
    } else if (!bufs[i]->block) {
      st = bn_fail(BN_ERR_INVALID_HANDLE, "[%s] buffer %u: its device is closed", d->name, i);
    } else if (bufs[i]->size < cmd.bytes[i]) {
      st = bn_fail(BN_ERR_SIZE, "[%s] expected buffer %u to hold at least %llu bytes but it holds %llu",
                   d->name, i, (unsigned long long)cmd.bytes[i], (unsigned long long)bufs[i]->size);
    }
  }
  for (uint32_t i = 0; i < n_buffers && st == BN_OK; i++) {
    if (!(d->writes & (1u << i))) continue;
    for (uint32_t j = 0; j < n_buffers; j++) {
      if (j != i && bufs[j] == bufs[i]) {
        st = bn_fail(BN_ERR_INVALID_ARGUMENT,
                     "[%s] output buffer %u is also passed as buffer %u; outputs must not alias",
                     d->name, i, j);
        break;
      }
    }
  }
  if (st == BN_OK && b->dev->info.backend != BN_BACKEND_CPU && op != BN_OP_MPS_MATMUL) {
    /* GPU limits (grid sizes, shader ranges) are part of validation: refuse now, after the
     * size checks, not at wait time. */
    bn_gpu_plan_t plan;
    st = bn_gpu_plan(&cmd, b->dev->info.caps, &plan);
  }
  if (st == BN_OK && b->n_cmds == b->cap_cmds) {
    uint32_t cap = b->cap_cmds ? b->cap_cmds * 2 : 8;
    bn_cmd_t* grown = realloc(b->cmds, cap * sizeof *grown);
    if (!grown) st = bn_fail(BN_ERR_OUT_OF_MEMORY, "batch allocation failed");
    else { b->cmds = grown; b->cap_cmds = cap; }
  }
  if (st != BN_OK) {
    for (uint32_t i = 0; i < n_buffers; i++) if (bufs[i]) bn_obj_put(&bufs[i]->obj);
    return st;
  }
  for (uint32_t i = 0; i < n_buffers; i++) {
    cmd.mem[i] = &bufs[i]->block->mem;
    if (st == BN_OK) st = add_buffer_ref(b, bufs[i]);
    else bn_obj_put(&bufs[i]->obj);
  }
  if (st == BN_OK) b->cmds[b->n_cmds++] = cmd;
  return st;
}

BN_API int32_t bn_batch_encode(uint64_t batch, uint32_t op, const void* params,
                               uint32_t params_size, const uint64_t* buffers,
                               uint32_t n_buffers) {
  bn_clear_error();
  bn_batch_t* b = (bn_batch_t*)bn_handle_get(batch, BN_KIND_BATCH);
  if (!b) return BN_ERR_INVALID_HANDLE;
  pthread_mutex_lock(&b->dev->lock);
  int32_t st;
  if (b->dev->closed) {
    st = bn_fail(BN_ERR_INVALID_HANDLE, "device is closed");
  } else {
    pthread_mutex_lock(&b->m);
    st = b->state == OPEN ? encode(b, op, params, params_size, buffers, n_buffers)
                          : bn_fail(BN_ERR_STATE, "batch is already committed");
    pthread_mutex_unlock(&b->m);
  }
  if (st != BN_OK) bn_copy_text(bn_last_error(), b->dev->last_error, sizeof b->dev->last_error);
  pthread_mutex_unlock(&b->dev->lock);
  bn_obj_put(&b->obj);
  return st;
}

BN_API int32_t bn_batch_commit(uint64_t batch) {
  bn_clear_error();
  bn_batch_t* b = (bn_batch_t*)bn_handle_get(batch, BN_KIND_BATCH);
  if (!b) return BN_ERR_INVALID_HANDLE;
  pthread_mutex_lock(&b->m);
  int32_t st = BN_OK;
  if (b->state != OPEN) {
    st = bn_fail(BN_ERR_STATE, "batch is already committed");
  } else {
    b->state = COMMITTED;
    clock_gettime(CLOCK_MONOTONIC, &b->committed_at);
  }
  pthread_mutex_unlock(&b->m);
  bn_obj_put(&b->obj);
  return st;
}

BN_API int32_t bn_batch_wait(uint64_t batch) {
  bn_clear_error();
  bn_batch_t* b = (bn_batch_t*)bn_handle_get(batch, BN_KIND_BATCH);
  if (!b) return BN_ERR_INVALID_HANDLE;
  pthread_mutex_lock(&b->m);
  if (b->state == OPEN) {
    pthread_mutex_unlock(&b->m);
    bn_obj_put(&b->obj);
    return bn_fail(BN_ERR_STATE, "batch is not committed");
  }
  if (b->state == COMMITTED) {
    b->state = RUNNING;
    pthread_mutex_unlock(&b->m);
    bn_dev_t* dev = b->dev;
    double gpu = -1;
    int32_t st = BN_OK;
    pthread_mutex_lock(&dev->lock);
    if (dev->closed) {
      st = bn_fail(BN_ERR_INVALID_HANDLE, "device was closed before the batch ran");
    } else if (b->n_cmds > 0) {
      st = dev->be->run(dev->impl, b->cmds, b->n_cmds, &gpu);
      if (st != BN_OK) bn_copy_text(bn_last_error(), dev->last_error, sizeof dev->last_error);
    }
    pthread_mutex_unlock(&dev->lock);
    double done = now_seconds();
    drop_buffers(b);
    pthread_mutex_lock(&b->m);
    b->status = st;
    bn_copy_text(st == BN_OK ? "" : bn_last_error(), b->error, sizeof b->error);
    b->gpu_seconds = st == BN_OK ? gpu : -1;
    b->elapsed_seconds = done - ((double)b->committed_at.tv_sec + (double)b->committed_at.tv_nsec * 1e-9);
    b->state = DONE;
    pthread_cond_broadcast(&b->cv);
  }
  while (b->state != DONE) pthread_cond_wait(&b->cv, &b->m);
  int32_t st = b->status;
  if (st != BN_OK) bn_fail(st, "%s", b->error);
  pthread_mutex_unlock(&b->m);
  bn_obj_put(&b->obj);
  return st;
}

BN_API int32_t bn_batch_times(uint64_t batch, double* out_two) {
  bn_clear_error();
  if (!out_two) return bn_fail(BN_ERR_INVALID_ARGUMENT, "out is NULL");
  bn_batch_t* b = (bn_batch_t*)bn_handle_get(batch, BN_KIND_BATCH);
  if (!b) return BN_ERR_INVALID_HANDLE;
  pthread_mutex_lock(&b->m);
  int32_t st = BN_OK;
  if (b->state != DONE) {
    st = bn_fail(BN_ERR_STATE, "batch has not completed");
  } else {
    out_two[0] = b->gpu_seconds;
    out_two[1] = b->elapsed_seconds;
  }
  pthread_mutex_unlock(&b->m);
  bn_obj_put(&b->obj);
  return st;
}

BN_API int32_t bn_batch_free(uint64_t batch) {
  bn_clear_error();
  if (!bn_handle_remove(batch)) {
    return bn_fail(BN_ERR_INVALID_HANDLE, "batch handle %llu is not live (already freed?)",
                   (unsigned long long)batch);
  }
  return BN_OK;
}
