/* handles.c — the global handle table: 64-bit ids that are validated on every use. */
#include <stdlib.h>

#include "core/core.h"

#define SLOT_BITS 24u
#define GEN_BITS 20u
#define KIND_SHIFT (SLOT_BITS + GEN_BITS)

typedef struct slot {
  bn_obj_t* obj;     /* NULL when free */
  uint32_t gen;      /* bumped on every removal so old handles never match again */
  uint32_t next_free;
} slot_t;

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static slot_t* g_slots;
static uint32_t g_cap, g_used;      /* g_used: slots ever handed out (slot 0 unused) */
static uint32_t g_free = 0;         /* head of the free list, 0 = empty */

int32_t bn_handle_add(bn_obj_t* obj, uint64_t* out_handle) {
  pthread_mutex_lock(&g_lock);
  uint32_t s = g_free;
  if (s != 0) {
    g_free = g_slots[s].next_free;
  } else {
    if (g_used + 1 >= g_cap) {
      uint32_t cap = g_cap ? g_cap * 2 : 1024;
      if (cap > (1u << SLOT_BITS)) {
        pthread_mutex_unlock(&g_lock);
        return bn_fail(BN_ERR_OUT_OF_MEMORY, "too many live handles");
      }
      slot_t* grown = realloc(g_slots, cap * sizeof *grown);
      if (!grown) {
        pthread_mutex_unlock(&g_lock);
        return bn_fail(BN_ERR_OUT_OF_MEMORY, "handle table allocation failed");
      }
      for (uint32_t i = g_cap; i < cap; i++) grown[i] = (slot_t){0};
      g_slots = grown;
      g_cap = cap;
    }
    s = ++g_used;
  }
  g_slots[s].obj = obj;
  uint32_t gen = g_slots[s].gen & ((1u << GEN_BITS) - 1);
  obj->handle = ((uint64_t)obj->kind << KIND_SHIFT) | ((uint64_t)gen << SLOT_BITS) | s;
  *out_handle = obj->handle;
  pthread_mutex_unlock(&g_lock);
  return BN_OK;
}

static slot_t* find(uint64_t h, uint32_t kind) {
  uint32_t s = (uint32_t)(h & ((1u << SLOT_BITS) - 1));
  uint32_t gen = (uint32_t)((h >> SLOT_BITS) & ((1u << GEN_BITS) - 1));
  if ((h >> KIND_SHIFT) != kind || s == 0 || s > g_used) return NULL;
  slot_t* sl = &g_slots[s];
  if (!sl->obj || (sl->gen & ((1u << GEN_BITS) - 1)) != gen || sl->obj->kind != kind) return NULL;
  return sl;
}

static const char* kind_name(uint32_t kind) {
  return kind == BN_KIND_DEVICE ? "device" : kind == BN_KIND_BUFFER ? "buffer" : "batch";
}

bn_obj_t* bn_handle_get(uint64_t h, uint32_t kind) {
  pthread_mutex_lock(&g_lock);
  slot_t* sl = find(h, kind);
  bn_obj_t* obj = sl ? sl->obj : NULL;
  if (obj) atomic_fetch_add(&obj->refs, 1);
  pthread_mutex_unlock(&g_lock);
  if (!obj) {
    bn_fail(BN_ERR_INVALID_HANDLE, "%s handle %llu is not live (closed, freed, or never valid)",
            kind_name(kind), (unsigned long long)h);
  }
  return obj;
}

bool bn_handle_remove(uint64_t h) {
  pthread_mutex_lock(&g_lock);
  slot_t* sl = find(h, (uint32_t)(h >> KIND_SHIFT));
  bn_obj_t* obj = sl ? sl->obj : NULL;
  if (sl) {
    sl->obj = NULL;
    sl->gen++;
    uint32_t s = (uint32_t)(h & ((1u << SLOT_BITS) - 1));
    sl->next_free = g_free;
    g_free = s;
  }
  pthread_mutex_unlock(&g_lock);
  if (obj) bn_obj_put(obj);
  return obj != NULL;
}

void bn_obj_ref(bn_obj_t* obj) { atomic_fetch_add(&obj->refs, 1); }

void bn_obj_put(bn_obj_t* obj) {
  if (obj && atomic_fetch_sub(&obj->refs, 1) == 1) obj->destroy(obj);
}
