/* device.c — the device list over all backends, device open/close, buffers and the pool. */
#define _GNU_SOURCE /* pthread_mutexattr_settype, clock_gettime under -std=c11 */
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

/* ---- device list ------------------------------------------------------------------------ */
static const bn_backend_t* const g_backends[] = {
#ifdef BN_WITH_METAL
    &bn_backend_metal,
#endif
#ifdef BN_WITH_VULKAN
    &bn_backend_vulkan,
#endif
    &bn_backend_cpu,
};
#define N_BACKENDS (sizeof g_backends / sizeof g_backends[0])

static pthread_once_t g_enum_once = PTHREAD_ONCE_INIT;
static uint32_t g_counts[N_BACKENDS];

static void enumerate_all(void) {
  for (size_t i = 0; i < N_BACKENDS; i++) g_counts[i] = g_backends[i]->enumerate();
}

/* Maps a global device index to (backend, local index). */
static int32_t locate(uint32_t index, const bn_backend_t** be, uint32_t* local) {
  pthread_once(&g_enum_once, enumerate_all);
  uint32_t total = 0;
  for (size_t i = 0; i < N_BACKENDS; i++) {
    if (index < total + g_counts[i]) {
      *be = g_backends[i];
      *local = index - total;
      return BN_OK;
    }
    total += g_counts[i];
  }
  return bn_fail(BN_ERR_NOT_FOUND, "no device at index %u (there are %u)", index, total);
}

BN_API int32_t bn_device_count(uint32_t* out_count) {
  bn_clear_error();
  if (!out_count) return bn_fail(BN_ERR_INVALID_ARGUMENT, "out_count is NULL");
  pthread_once(&g_enum_once, enumerate_all);
  uint32_t total = 0;
  for (size_t i = 0; i < N_BACKENDS; i++) total += g_counts[i];
  *out_count = total;
  return BN_OK;
}

BN_API int32_t bn_device_info(uint32_t index, bn_device_info_t* out_info) {
  bn_clear_error();
  if (!out_info) return bn_fail(BN_ERR_INVALID_ARGUMENT, "out_info is NULL");
  const bn_backend_t* be;
  uint32_t local;
  int32_t st = locate(index, &be, &local);
  if (st != BN_OK) return st;
  bn_device_info_t info;
  memset(&info, 0, sizeof info);
  st = be->describe(local, &info);
  if (st == BN_OK) {
    info.backend = be->backend_id;
    *out_info = info;
  }
  return st;
}

/* ---- devices ------------------------------------------------------------------------------ */
void bn_dev_record_error(bn_dev_t* dev) {
  pthread_mutex_lock(&dev->lock);
  bn_copy_text(bn_last_error(), dev->last_error, sizeof dev->last_error);
  pthread_mutex_unlock(&dev->lock);
}

static void dev_destroy(bn_obj_t* obj) {
  bn_dev_t* dev = (bn_dev_t*)obj;
  pthread_mutex_destroy(&dev->lock);
  free(dev);
}

BN_API int32_t bn_device_open(uint32_t index, uint64_t* out_device) {
  bn_clear_error();
  if (!out_device) return bn_fail(BN_ERR_INVALID_ARGUMENT, "out_device is NULL");
  const bn_backend_t* be;
  uint32_t local;
  int32_t st = locate(index, &be, &local);
  if (st != BN_OK) return st;
  bn_dev_t* dev = calloc(1, sizeof *dev);
  if (!dev) return bn_fail(BN_ERR_OUT_OF_MEMORY, "device allocation failed");
  dev->obj.kind = BN_KIND_DEVICE;
  atomic_init(&dev->obj.refs, 1);
  dev->obj.destroy = dev_destroy;
  dev->be = be;
  /* Recursive: dropping the last reference to a buffer while the lock is held (a failed
   * encode, say) runs the buffer's destructor, which takes the lock again. */
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
  pthread_mutex_init(&dev->lock, &attr);
  pthread_mutexattr_destroy(&attr);
  st = be->describe(local, &dev->info);
  if (st == BN_OK) st = be->open(local, &dev->impl);
  if (st != BN_OK) {
    pthread_mutex_destroy(&dev->lock);
    free(dev);
    return st;
  }
  dev->info.backend = be->backend_id;
  /* The pool may cache up to 1/8 of the device memory, at most 4 GiB. */
  uint64_t cap = dev->info.memory_bytes / 8;
  dev->pool_cap = cap > (4ull << 30) ? (4ull << 30) : cap;
  st = bn_handle_add(&dev->obj, out_device);
  if (st != BN_OK) {
    be->close(dev->impl);
    dev_destroy(&dev->obj);
  }
  return st;
}

/* Looks up a device handle and takes its lock; NULL (error set) if closed or invalid. */
static bn_dev_t* dev_lock(uint64_t h) {
  bn_dev_t* dev = (bn_dev_t*)bn_handle_get(h, BN_KIND_DEVICE);
  if (!dev) return NULL;
  pthread_mutex_lock(&dev->lock);
  if (dev->closed) {
    pthread_mutex_unlock(&dev->lock);
    bn_obj_put(&dev->obj);
    bn_fail(BN_ERR_INVALID_HANDLE, "device is closed");
    return NULL;
  }
  return dev;
}

static void dev_unlock(bn_dev_t* dev, int32_t st) {
  if (st != BN_OK) bn_copy_text(bn_last_error(), dev->last_error, sizeof dev->last_error);
  pthread_mutex_unlock(&dev->lock);
  bn_obj_put(&dev->obj);
}

BN_API int32_t bn_device_close(uint64_t device) {
  bn_clear_error();
  bn_dev_t* dev = dev_lock(device);
  if (!dev) return BN_ERR_INVALID_HANDLE;
  if (!bn_handle_remove(device)) {
    dev_unlock(dev, BN_OK);
    return bn_fail(BN_ERR_INVALID_HANDLE, "device is already closed");
  }
  dev->closed = true;
  bn_batch_t* batches = bn_batches_detach(dev);
  /* Free the memory of every live buffer; their handles go away below. */
  for (bn_buf_t* b = dev->buffers; b; b = b->next) {
    if (b->block) {
      dev->be->mem_free(dev->impl, &b->block->mem);
      free(b->block);
      b->block = NULL;
    }
  }
  bn_buf_t* b = dev->buffers;
  dev->buffers = NULL;
  bn_pool_drain(dev);
  dev->be->close(dev->impl);
  dev->impl = NULL;
  pthread_mutex_unlock(&dev->lock);
  /* Removing handles drops references whose destructors take the device lock, so it is
   * done unlocked; the objects are no longer on the device's lists. */
  bn_batches_remove_all(batches);
  while (b) {
    bn_buf_t* next = b->next;
    b->prev = b->next = NULL;
    bn_handle_remove(b->obj.handle);
    b = next;
  }
  bn_obj_put(&dev->obj);
  return BN_OK;
}

BN_API int32_t bn_device_get_info(uint64_t device, bn_device_info_t* out_info) {
  bn_clear_error();
  if (!out_info) return bn_fail(BN_ERR_INVALID_ARGUMENT, "out_info is NULL");
  bn_dev_t* dev = dev_lock(device);
  if (!dev) return BN_ERR_INVALID_HANDLE;
  *out_info = dev->info;
  dev_unlock(dev, BN_OK);
  return BN_OK;
}

BN_API uint32_t bn_device_last_error_copy(uint64_t device, char* buf, uint32_t cap) {
  bn_dev_t* dev = (bn_dev_t*)bn_handle_get(device, BN_KIND_DEVICE);
  if (!dev) return bn_copy_text("", buf, cap);
  pthread_mutex_lock(&dev->lock);
  uint32_t n = bn_copy_text(dev->last_error, buf, cap);
  pthread_mutex_unlock(&dev->lock);
  bn_obj_put(&dev->obj);
  return n;
}

BN_API int32_t bn_device_supports_op(uint64_t device, uint32_t op, uint32_t* out_supported) {
  bn_clear_error();
  if (!out_supported) return bn_fail(BN_ERR_INVALID_ARGUMENT, "out_supported is NULL");
  if (!bn_op_get(op)) return bn_fail(BN_ERR_INVALID_ARGUMENT, "unknown op %u", op);
  bn_dev_t* dev = dev_lock(device);
  if (!dev) return BN_ERR_INVALID_HANDLE;
  *out_supported = dev->be->supports_op(dev->impl, op) ? 1u : 0u;
  dev_unlock(dev, BN_OK);
  return BN_OK;
}

/* ---- pool ----------------------------------------------------------------------------------
 * Size classes: 256 B, then for each power of two p >= 512 the sizes p and 1.5·p, so a
 * buffer wastes at most a third of its bytes. Class c covers sizes up to class_size(c). */
static uint64_t class_size(uint32_t c) {
  if (c == 0) return 256;
  uint32_t e = (c - 1) / 2 + 9; /* 512, 768, 1024, 1536, … */
  uint64_t p = 1ull << e;
  return (c - 1) % 2 == 0 ? p : p + p / 2;
}

static uint32_t class_of(uint64_t size) {
  uint32_t c = 0;
  while (c < BN_POOL_CLASSES - 1 && class_size(c) < size) c++;
  return c;
}

void bn_pool_release(bn_dev_t* dev, bn_block_t* block) {
  uint64_t sz = block->mem.size;
  dev->stats.bytes_in_use -= sz;
  dev->stats.buffers_in_use--;
  uint32_t st = block->mem.storage == BN_STORAGE_PRIVATE ? 1 : 0;
  if (!dev->closed && class_size(block->cls) == sz && dev->stats.bytes_cached + sz <= dev->pool_cap) {
    block->next = dev->pool[block->cls][st];
    dev->pool[block->cls][st] = block;
    dev->stats.bytes_cached += sz;
    return;
  }
  dev->be->mem_free(dev->impl, &block->mem);
  dev->stats.allocations--;
  free(block);
}

void bn_pool_drain(bn_dev_t* dev) {
  for (uint32_t c = 0; c < BN_POOL_CLASSES; c++) {
    for (int s = 0; s < 2; s++) {
      bn_block_t* b = dev->pool[c][s];
      while (b) {
        bn_block_t* next = b->next;
        dev->stats.bytes_cached -= b->mem.size;
        dev->stats.allocations--;
        dev->be->mem_free(dev->impl, &b->mem);
        free(b);
        b = next;
      }
      dev->pool[c][s] = NULL;
    }
  }
}

BN_API int32_t bn_pool_stats(uint64_t device, bn_pool_stats_t* out_stats) {
  bn_clear_error();
  if (!out_stats) return bn_fail(BN_ERR_INVALID_ARGUMENT, "out_stats is NULL");
  bn_dev_t* dev = dev_lock(device);
  if (!dev) return BN_ERR_INVALID_HANDLE;
  *out_stats = dev->stats;
  dev_unlock(dev, BN_OK);
  return BN_OK;
}

BN_API int32_t bn_pool_trim(uint64_t device) {
  bn_clear_error();
  bn_dev_t* dev = dev_lock(device);
  if (!dev) return BN_ERR_INVALID_HANDLE;
  bn_pool_drain(dev);
  dev_unlock(dev, BN_OK);
  return BN_OK;
}

/* ---- buffers -------------------------------------------------------------------------------- */
static void buf_destroy(bn_obj_t* obj) {
  bn_buf_t* b = (bn_buf_t*)obj;
  bn_dev_t* dev = b->dev;
  pthread_mutex_lock(&dev->lock);
  if (b->block) {
    if (b->prev) b->prev->next = b->next; else if (dev->buffers == b) dev->buffers = b->next;
    if (b->next) b->next->prev = b->prev;
    bn_pool_release(dev, b->block);
  }
  pthread_mutex_unlock(&dev->lock);
  bn_obj_put(&dev->obj);
  free(b);
}

BN_API int32_t bn_buffer_create(uint64_t device, uint64_t size, uint32_t storage,
                                uint64_t* out_buffer) {
  bn_clear_error();
  if (!out_buffer) return bn_fail(BN_ERR_INVALID_ARGUMENT, "out_buffer is NULL");
  if (storage > BN_STORAGE_PRIVATE) {
    return bn_fail(BN_ERR_INVALID_ARGUMENT, "storage must be 0 (shared) or 1 (private), got %u",
                   storage);
  }
  if (size == 0) return bn_fail(BN_ERR_INVALID_ARGUMENT, "buffer size must be > 0");
  bn_dev_t* dev = dev_lock(device);
  if (!dev) return BN_ERR_INVALID_HANDLE;
  int32_t st = BN_OK;
  if (size > dev->info.max_buffer_bytes || size > class_size(BN_POOL_CLASSES - 1)) {
    st = bn_fail(BN_ERR_SIZE, "buffer of %llu bytes exceeds the device's largest buffer (%llu bytes)",
                 (unsigned long long)size, (unsigned long long)dev->info.max_buffer_bytes);
    dev_unlock(dev, st);
    return st;
  }
  uint32_t cls = class_of(size);
  uint32_t si = storage == BN_STORAGE_PRIVATE ? 1 : 0;
  bn_block_t* block = dev->pool[cls][si];
  bn_buf_t* b = calloc(1, sizeof *b);
  if (!b) st = bn_fail(BN_ERR_OUT_OF_MEMORY, "buffer allocation failed");
  if (st == BN_OK && block) {
    dev->pool[cls][si] = block->next;
    dev->stats.bytes_cached -= block->mem.size;
    dev->stats.hits++;
    st = dev->be->mem_zero(dev->impl, &block->mem, size);
    if (st != BN_OK) {
      dev->be->mem_free(dev->impl, &block->mem);
      dev->stats.allocations--;
      free(block);
    }
  } else if (st == BN_OK) {
    block = calloc(1, sizeof *block);
    if (!block) st = bn_fail(BN_ERR_OUT_OF_MEMORY, "buffer allocation failed");
    if (st == BN_OK) st = dev->be->mem_alloc(dev->impl, class_size(cls), storage, &block->mem);
    if (st == BN_OK) {
      block->cls = cls;
      dev->stats.misses++;
      dev->stats.allocations++;
      if (!block->mem.zeroed) st = dev->be->mem_zero(dev->impl, &block->mem, size);
      if (st != BN_OK) {
        dev->be->mem_free(dev->impl, &block->mem);
        dev->stats.allocations--;
      }
    }
    if (st != BN_OK) free(block);
  }
  if (st != BN_OK) {
    free(b);
    dev_unlock(dev, st);
    return st;
  }
  block->mem.zeroed = 0;
  block->next = NULL;
  dev->stats.bytes_in_use += block->mem.size;
  dev->stats.buffers_in_use++;
  b->obj.kind = BN_KIND_BUFFER;
  atomic_init(&b->obj.refs, 1);
  b->obj.destroy = buf_destroy;
  b->dev = dev;
  bn_obj_ref(&dev->obj);
  b->block = block;
  b->size = size;
  b->storage = storage;
  b->next = dev->buffers;
  if (dev->buffers) dev->buffers->prev = b;
  dev->buffers = b;
  st = bn_handle_add(&b->obj, out_buffer);
  pthread_mutex_unlock(&dev->lock);
  if (st != BN_OK) bn_obj_put(&b->obj); /* destroys it, returning the block */
  bn_obj_put(&dev->obj);
  return st;
}

BN_API int32_t bn_buffer_free(uint64_t buffer) {
  bn_clear_error();
  if (!bn_handle_remove(buffer) ) {
    return bn_fail(BN_ERR_INVALID_HANDLE, "buffer handle %llu is not live (already freed?)",
                   (unsigned long long)buffer);
  }
  return BN_OK;
}

/* Looks up a buffer, locks its device; NULL if invalid or its device closed. */
static bn_buf_t* buf_lock(uint64_t h) {
  bn_buf_t* b = (bn_buf_t*)bn_handle_get(h, BN_KIND_BUFFER);
  if (!b) return NULL;
  pthread_mutex_lock(&b->dev->lock);
  if (b->dev->closed || !b->block) {
    pthread_mutex_unlock(&b->dev->lock);
    bn_obj_put(&b->obj);
    bn_fail(BN_ERR_INVALID_HANDLE, "the buffer's device is closed");
    return NULL;
  }
  return b;
}

static int32_t buf_unlock(bn_buf_t* b, int32_t st) {
  if (st != BN_OK) bn_copy_text(bn_last_error(), b->dev->last_error, sizeof b->dev->last_error);
  pthread_mutex_unlock(&b->dev->lock);
  bn_obj_put(&b->obj);
  return st;
}

static int32_t check_range(const bn_buf_t* b, uint64_t off, uint64_t len, const void* p) {
  if (!p && len) return bn_fail(BN_ERR_INVALID_ARGUMENT, "data pointer is NULL");
  if (off > b->size || len > b->size - off) {
    return bn_fail(BN_ERR_SIZE, "range [%llu, %llu + %llu) is outside the buffer of %llu bytes",
                   (unsigned long long)off, (unsigned long long)off, (unsigned long long)len,
                   (unsigned long long)b->size);
  }
  return BN_OK;
}

BN_API int32_t bn_buffer_write(uint64_t buffer, uint64_t offset, const void* src, uint64_t len) {
  bn_clear_error();
  bn_buf_t* b = buf_lock(buffer);
  if (!b) return BN_ERR_INVALID_HANDLE;
  int32_t st = check_range(b, offset, len, src);
  if (st == BN_OK && len) st = b->dev->be->mem_write(b->dev->impl, &b->block->mem, offset, src, len);
  return buf_unlock(b, st);
}

BN_API int32_t bn_buffer_read(uint64_t buffer, uint64_t offset, void* dst, uint64_t len) {
  bn_clear_error();
  bn_buf_t* b = buf_lock(buffer);
  if (!b) return BN_ERR_INVALID_HANDLE;
  int32_t st = check_range(b, offset, len, dst);
  if (st == BN_OK && len) st = b->dev->be->mem_read(b->dev->impl, &b->block->mem, offset, dst, len);
  return buf_unlock(b, st);
}

BN_API int32_t bn_buffer_host_ptr(uint64_t buffer, void** out_ptr) {
  bn_clear_error();
  if (!out_ptr) return bn_fail(BN_ERR_INVALID_ARGUMENT, "out_ptr is NULL");
  bn_buf_t* b = buf_lock(buffer);
  if (!b) return BN_ERR_INVALID_HANDLE;
  int32_t st = BN_OK;
  if (b->storage != BN_STORAGE_SHARED || !b->block->mem.host) {
    st = bn_fail(BN_ERR_UNSUPPORTED, "only SHARED buffers have a host pointer");
  } else {
    *out_ptr = b->block->mem.host;
  }
  return buf_unlock(b, st);
}

BN_API int32_t bn_buffer_size(uint64_t buffer, uint64_t* out_size) {
  bn_clear_error();
  if (!out_size) return bn_fail(BN_ERR_INVALID_ARGUMENT, "out_size is NULL");
  bn_buf_t* b = buf_lock(buffer);
  if (!b) return BN_ERR_INVALID_HANDLE;
  *out_size = b->size;
  return buf_unlock(b, BN_OK);
}

BN_API int32_t bn_buffer_storage(uint64_t buffer, uint32_t* out_storage) {
  bn_clear_error();
  if (!out_storage) return bn_fail(BN_ERR_INVALID_ARGUMENT, "out_storage is NULL");
  bn_buf_t* b = buf_lock(buffer);
  if (!b) return BN_ERR_INVALID_HANDLE;
  *out_storage = b->storage;
  return buf_unlock(b, BN_OK);
}
