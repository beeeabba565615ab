/*
 * vk_run.c — pipelines (built lazily, cached per shader) and batch execution.
 *
 * A batch is one command buffer: for each command, the plan's stages are dispatched with the
 * command's buffers at bindings 0..n-1, the device's scratch buffer at binding 7 and the
 * params as push constants; a compute→compute barrier separates consecutive dispatches.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vk_internal.h"

/* ---- pipelines ----------------------------------------------------------------------- */

static bnvk_pipeline_t* pipeline_entry(bnvk_dev_t* d, const bn_shader_blob_t* shader) {
  for (uint32_t i = 0; i < d->n_pipelines; i++) {
    if (d->pipelines[i].shader == shader) return &d->pipelines[i];
  }
  if (d->n_pipelines == d->cap_pipelines) {
    uint32_t cap = d->cap_pipelines ? 2 * d->cap_pipelines : 16;
    bnvk_pipeline_t* grown = realloc(d->pipelines, cap * sizeof *grown);
    if (!grown) return NULL;
    d->pipelines = grown;
    d->cap_pipelines = cap;
  }
  bnvk_pipeline_t* e = &d->pipelines[d->n_pipelines++];
  memset(e, 0, sizeof *e);
  e->shader = shader;
  e->build = 1;
  /* What the shader needs, against what the device has. */
  const bnvk_phys_t* p = d->phys;
  const VkPhysicalDeviceLimits* lim = &p->props.limits;
  const char* name = shader->name ? shader->name : "?";
  char why[200];
  e->check = bnvk_spirv_check(p, shader->spirv, shader->spirv_bytes, why, sizeof why);
  if (e->check != BN_OK) {
    snprintf(e->message, sizeof e->message, "shader %s: %s", name, why);
    return e;
  }
  const uint32_t* ls = shader->local_size;
  const uint64_t threads = (uint64_t)ls[0] * ls[1] * ls[2];
  if (threads == 0 || threads > lim->maxComputeWorkGroupInvocations ||
      ls[0] > lim->maxComputeWorkGroupSize[0] || ls[1] > lim->maxComputeWorkGroupSize[1] ||
      ls[2] > lim->maxComputeWorkGroupSize[2]) {
    e->check = BN_ERR_UNSUPPORTED;
    snprintf(e->message, sizeof e->message,
             "shader %s: workgroup %ux%ux%u exceeds the device's limits (%u threads, %ux%ux%u)",
             name, ls[0], ls[1], ls[2], lim->maxComputeWorkGroupInvocations,
             lim->maxComputeWorkGroupSize[0], lim->maxComputeWorkGroupSize[1],
             lim->maxComputeWorkGroupSize[2]);
    return e;
  }
  if (shader->push_constant_bytes > BN_MAX_PARAMS_BYTES) {
    e->check = BN_ERR_INTERNAL;
    snprintf(e->message, sizeof e->message,
             "shader %s: %u bytes of push constants; the layout has %u", name,
             shader->push_constant_bytes, (unsigned)BN_MAX_PARAMS_BYTES);
  }
  return e;
}

/* The shader's pipeline, built on first use; BN_OK and *out, or a status with a message. */
static int32_t get_pipeline(bnvk_dev_t* d, const bn_shader_blob_t* shader, VkPipeline* out) {
  if (!shader) return bn_fail(BN_ERR_INTERNAL, "vulkan: the plan names no shader");
  bnvk_pipeline_t* e = pipeline_entry(d, shader);
  if (!e) return bn_fail(BN_ERR_OUT_OF_MEMORY, "vulkan: out of host memory");
  if (e->check != BN_OK) return bn_fail(e->check, "vulkan: %s", e->message);
  if (e->build == BN_OK) {
    *out = e->pipeline;
    return BN_OK;
  }
  if (e->build != 1) return bn_fail(e->build, "vulkan: %s", e->message);
  const char* name = shader->name ? shader->name : "?";
  VkShaderModuleCreateInfo smi = {
      .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
      .codeSize = (size_t)shader->spirv_bytes,
      .pCode = shader->spirv,
  };
  VkShaderModule module = VK_NULL_HANDLE;
  VkResult r = d->fn.vkCreateShaderModule(d->device, &smi, NULL, &module);
  if (r == VK_SUCCESS) {
    VkComputePipelineCreateInfo cpi = {
        .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
        .stage =
            {
                .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
                .stage = VK_SHADER_STAGE_COMPUTE_BIT,
                .module = module,
                .pName = "main",
            },
        .layout = d->pipeline_layout,
    };
    r = d->fn.vkCreateComputePipelines(d->device, d->pipeline_cache, 1, &cpi, NULL, &e->pipeline);
    d->fn.vkDestroyShaderModule(d->device, module, NULL);
  }
  if (r != VK_SUCCESS) {
    e->pipeline = VK_NULL_HANDLE;
    if (r == VK_ERROR_DEVICE_LOST) return bnvk_fail(d, r, "vkCreateComputePipelines");
    if (r == VK_ERROR_OUT_OF_HOST_MEMORY || r == VK_ERROR_OUT_OF_DEVICE_MEMORY) {
      /* not cached: a later try may have the memory */
      return bn_fail(BN_ERR_OUT_OF_MEMORY, "vulkan: building the pipeline of %s failed: %s (%d)",
                     name, bnvk_result_name(r), (int)r);
    }
    e->build = BN_ERR_COMPILE;
    snprintf(e->message, sizeof e->message, "building the pipeline of %s failed: %s (%d)", name,
             bnvk_result_name(r), (int)r);
    return bn_fail(BN_ERR_COMPILE, "vulkan: %s", e->message);
  }
  e->build = BN_OK;
  *out = e->pipeline;
  return BN_OK;
}

void bnvk_destroy_pipelines(bnvk_dev_t* d) {
  for (uint32_t i = 0; i < d->n_pipelines; i++) {
    if (d->pipelines[i].pipeline && !d->hung) {
      d->fn.vkDestroyPipeline(d->device, d->pipelines[i].pipeline, NULL);
    }
  }
  free(d->pipelines);
  d->pipelines = NULL;
  d->n_pipelines = d->cap_pipelines = 0;
}

/* ---- supports_op ----------------------------------------------------------------------
 * The plan chooses shaders by shape and caps, so the op is probed with a few typical shapes;
 * it is supported when every shader those plans use can run on this device. */

static bool probe(bnvk_dev_t* d, uint32_t op, const void* params) {
  const bn_op_desc_t* desc = bn_op_get(op);
  if (!desc || desc->n_buffers > BNVK_BINDINGS) return false;
  bn_cmd_t cmd;
  memset(&cmd, 0, sizeof cmd);
  cmd.op = op;
  memcpy(cmd.params, params, sizeof cmd.params);
  cmd.n_buffers = desc->n_buffers;
  bn_mem_t fake[BNVK_BINDINGS];
  memset(fake, 0, sizeof fake);
  cmd.params_size = desc->params_size;
  if (desc->buffer_bytes && desc->buffer_bytes(cmd.params, cmd.bytes) != BN_OK) return false;
  for (uint32_t i = 0; i < cmd.n_buffers; i++) {
    fake[i].size = cmd.bytes[i] ? cmd.bytes[i] : 16;
    fake[i].storage = BN_STORAGE_PRIVATE;
    cmd.mem[i] = &fake[i];
  }
  bn_gpu_plan_t plan;
  memset(&plan, 0, sizeof plan);
  if (bn_gpu_plan(&cmd, d->caps, &plan) != BN_OK) return false;
  if (plan.n_stages == 0 || plan.n_stages > BN_MAX_STAGES) return false;
  for (uint32_t s = 0; s < plan.n_stages; s++) {
    if (!plan.stages[s].shader) return false;
    bnvk_pipeline_t* e = pipeline_entry(d, plan.stages[s].shader);
    if (!e || e->check != BN_OK || (e->build != 1 && e->build != BN_OK)) return false;
  }
  return true;
}

bool bnvk_supports_op(void* dev, uint32_t op) {
  bnvk_dev_t* d = dev;
  if (!d || op == 0 || op >= BN_OP_COUNT_ || op == BN_OP_MPS_MATMUL) return false;
  if (d->op_supported[op] >= 0) return d->op_supported[op] == 1;
  /* Typical shapes from core make the plan pick every shader family of the op. */
  uint64_t params[BN_MAX_PARAMS_BYTES / 8];
  bool ok = true, any = false;
  for (uint32_t i = 0; ok && bn_op_probe_params(op, i, params); i++) {
    any = true;
    ok = probe(d, op, params);
  }
  ok = ok && any;
  d->op_supported[op] = ok ? 1 : 0;
  return ok;
}

/* ---- run ------------------------------------------------------------------------------ */

static void barrier(bnvk_dev_t* d, VkPipelineStageFlags src_stage, VkAccessFlags src,
                    VkPipelineStageFlags dst_stage, VkAccessFlags dst) {
  VkMemoryBarrier mb = {
      .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER, .srcAccessMask = src, .dstAccessMask = dst};
  d->fn.vkCmdPipelineBarrier(d->cmd, src_stage, dst_stage, 0, 1, &mb, 0, NULL, 0, NULL);
}

static int32_t ensure_scratch(bnvk_dev_t* d, uint64_t bytes) {
  if (bytes == 0 || (d->scratch.buffer && d->scratch.size >= bytes)) return BN_OK;
  uint64_t size = 64u << 10;
  while (size < bytes) size *= 2;
  if (size > d->phys->max_buffer_bytes) size = bn_round_up(bytes, 16);
  bnvk_buf_destroy(d, &d->scratch);
  return bnvk_buf_create(d, size, d->private_types, false, &d->scratch, "scratch buffer");
}

static int32_t ensure_descriptor_pool(bnvk_dev_t* d, uint32_t sets) {
  if (d->desc_pool && d->desc_pool_sets >= sets) {
    VkResult r = d->fn.vkResetDescriptorPool(d->device, d->desc_pool, 0);
    if (r != VK_SUCCESS) return bnvk_fail(d, r, "vkResetDescriptorPool");
    return BN_OK;
  }
  if (d->desc_pool) d->fn.vkDestroyDescriptorPool(d->device, d->desc_pool, NULL);
  d->desc_pool = VK_NULL_HANDLE;
  d->desc_pool_sets = 0;
  uint32_t cap = 64;
  while (cap < sets) cap *= 2;
  VkDescriptorPoolSize ps = {.type = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                             .descriptorCount = cap * BNVK_BINDINGS};
  VkDescriptorPoolCreateInfo dpi = {
      .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
      .maxSets = cap,
      .poolSizeCount = 1,
      .pPoolSizes = &ps,
  };
  VkResult r = d->fn.vkCreateDescriptorPool(d->device, &dpi, NULL, &d->desc_pool);
  if (r != VK_SUCCESS) {
    d->desc_pool = VK_NULL_HANDLE;
    return bnvk_fail(d, r, "vkCreateDescriptorPool");
  }
  d->desc_pool_sets = cap;
  return BN_OK;
}

typedef struct prepared {
  bn_gpu_plan_t plan;
  VkPipeline pipes[BN_MAX_STAGES];
} prepared_t;

/* Plans every command and resolves its pipelines; nothing is recorded yet. */
static int32_t prepare(bnvk_dev_t* d, const bn_cmd_t* cmds, uint32_t n, prepared_t* prep,
                       uint64_t* max_scratch) {
  const VkPhysicalDeviceLimits* lim = &d->phys->props.limits;
  *max_scratch = 0;
  for (uint32_t i = 0; i < n; i++) {
    const bn_cmd_t* c = &cmds[i];
    if (c->op == BN_OP_MPS_MATMUL) {
      return bn_fail(BN_ERR_UNSUPPORTED, "vulkan: %s is Metal-only", "mps_matmul");
    }
    if (c->n_buffers > BNVK_BINDINGS) {
      return bn_fail(BN_ERR_INTERNAL, "vulkan: command %u has %u buffers", i, c->n_buffers);
    }
    for (uint32_t b = 0; b < c->n_buffers; b++) {
      if (!c->mem[b] || !c->mem[b]->impl) {
        return bn_fail(BN_ERR_INTERNAL, "vulkan: command %u: buffer %u has no memory", i, b);
      }
    }
    bn_gpu_plan_t* plan = &prep[i].plan;
    memset(plan, 0, sizeof *plan);
    int32_t st = bn_gpu_plan(c, d->caps, plan);
    if (st != BN_OK) return st; /* the plan set the message */
    if (plan->n_stages == 0 || plan->n_stages > BN_MAX_STAGES) {
      return bn_fail(BN_ERR_INTERNAL, "vulkan: the plan of op %u has %u stages", c->op,
                     plan->n_stages);
    }
    if (plan->scratch_bytes > 0 && c->n_buffers > BN_SCRATCH_BINDING) {
      return bn_fail(BN_ERR_INTERNAL, "vulkan: op %u uses binding %u and scratch", c->op,
                     BN_SCRATCH_BINDING);
    }
    for (uint32_t s = 0; s < plan->n_stages; s++) {
      const bn_gpu_stage_t* stage = &plan->stages[s];
      for (uint32_t a = 0; a < 3; a++) {
        if (stage->groups[a] > lim->maxComputeWorkGroupCount[a]) {
          return bn_fail(BN_ERR_INTERNAL,
                         "vulkan: op %u stage %u dispatches %u groups on axis %u (limit %u)",
                         c->op, s, stage->groups[a], a, lim->maxComputeWorkGroupCount[a]);
        }
      }
      st = get_pipeline(d, stage->shader, &prep[i].pipes[s]);
      if (st != BN_OK) return st;
    }
    if (plan->scratch_bytes > *max_scratch) *max_scratch = plan->scratch_bytes;
  }
  return BN_OK;
}

static void bind_buffers(bnvk_dev_t* d, const bn_cmd_t* c, bool scratch, VkDescriptorSet set) {
  VkDescriptorBufferInfo info[BNVK_BINDINGS];
  VkWriteDescriptorSet w[BNVK_BINDINGS];
  for (uint32_t b = 0; b < BNVK_BINDINGS; b++) {
    const bnvk_buf_t* buf = &d->dummy;
    if (b < c->n_buffers) buf = c->mem[b]->impl;
    else if (b == BN_SCRATCH_BINDING && scratch) buf = &d->scratch;
    info[b] = (VkDescriptorBufferInfo){.buffer = buf->buffer, .offset = 0, .range = buf->size};
    w[b] = (VkWriteDescriptorSet){
        .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
        .dstSet = set,
        .dstBinding = b,
        .descriptorCount = 1,
        .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
        .pBufferInfo = &info[b],
    };
  }
  if (d->push_descriptors) {
    d->fn.vkCmdPushDescriptorSetKHR(d->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, d->pipeline_layout, 0,
                                    BNVK_BINDINGS, w);
  } else {
    d->fn.vkUpdateDescriptorSets(d->device, BNVK_BINDINGS, w, 0, NULL);
    d->fn.vkCmdBindDescriptorSets(d->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, d->pipeline_layout, 0, 1,
                                  &set, 0, NULL);
  }
}

/* ---- hazards between the commands of one batch ------------------------------------------
 * Commands run in encode order, but independent ones need no barrier between them: the GPU
 * may overlap them. A barrier is recorded only when a command reads or writes a buffer that
 * an earlier command wrote (read-after-write, write-after-write), or writes one that an
 * earlier command read (write-after-read), since the last barrier. Buffers are compared by
 * their bn_mem_t (one allocation each). */
#define HAZ_MAX 64u
typedef struct hazards {
  const bn_mem_t* r[HAZ_MAX];
  const bn_mem_t* w[HAZ_MAX];
  uint32_t nr, nw;
} hazards_t;

static bool haz_in(const bn_mem_t* const* set, uint32_t n, const bn_mem_t* m) {
  for (uint32_t i = 0; i < n; i++) if (set[i] == m) return true;
  return false;
}

static bool hazard(const hazards_t* hz, const bn_cmd_t* c) {
  const bn_op_desc_t* desc = bn_op_get(c->op);
  uint32_t writes = desc ? desc->writes : 0xffu;
  if (hz->nr + c->n_buffers > HAZ_MAX || hz->nw + c->n_buffers > HAZ_MAX) return true;
  for (uint32_t b = 0; b < c->n_buffers; b++) {
    const bn_mem_t* m = c->mem[b];
    if (haz_in(hz->w, hz->nw, m)) return true;
    if ((writes & (1u << b)) && haz_in(hz->r, hz->nr, m)) return true;
  }
  return false;
}

/* hazard() returned false or a barrier just cleared the sets, so both have room. */
static void track(hazards_t* hz, const bn_cmd_t* c) {
  const bn_op_desc_t* desc = bn_op_get(c->op);
  uint32_t writes = desc ? desc->writes : 0xffu;
  for (uint32_t b = 0; b < c->n_buffers && hz->nr < HAZ_MAX && hz->nw < HAZ_MAX; b++) {
    if (writes & (1u << b)) hz->w[hz->nw++] = c->mem[b];
    else hz->r[hz->nr++] = c->mem[b];
  }
}

static int32_t record(bnvk_dev_t* d, const bn_cmd_t* cmds, uint32_t n, const prepared_t* prep,
                      const VkDescriptorSet* sets, bool timestamps) {
  VkResult r = d->fn.vkResetCommandBuffer(d->cmd, 0);
  if (r != VK_SUCCESS) return bnvk_fail(d, r, "vkResetCommandBuffer");
  VkCommandBufferBeginInfo bi = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
      .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
  };
  r = d->fn.vkBeginCommandBuffer(d->cmd, &bi);
  if (r != VK_SUCCESS) return bnvk_fail(d, r, "vkBeginCommandBuffer");
  const VkPipelineStageFlags CS = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                             XFER = VK_PIPELINE_STAGE_TRANSFER_BIT;
  const VkAccessFlags SR = VK_ACCESS_SHADER_READ_BIT, SW = VK_ACCESS_SHADER_WRITE_BIT;
  /* Earlier submissions (uploads, fills) before anything here. */
  barrier(d, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, VK_ACCESS_MEMORY_WRITE_BIT, CS | XFER,
          SR | SW | VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT);
  if (timestamps) {
    d->fn.vkCmdResetQueryPool(d->cmd, d->query_pool, 0, 2);
    d->fn.vkCmdWriteTimestamp(d->cmd, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, d->query_pool, 0);
  }
  hazards_t hz = {.nr = 0, .nw = 0};
  for (uint32_t i = 0; i < n; i++) {
    const bn_cmd_t* c = &cmds[i];
    const bn_gpu_plan_t* plan = &prep[i].plan;
    const bool scratch = plan->scratch_bytes > 0;
    if (scratch) {
      /* Scratch starts zeroed for every command that uses it. The first barrier also
       * orders and makes visible every earlier shader write, so it ends all hazards. */
      barrier(d, CS, SR | SW, CS | XFER, SR | SW | VK_ACCESS_TRANSFER_WRITE_BIT);
      d->fn.vkCmdFillBuffer(d->cmd, d->scratch.buffer, 0, bn_round_up(plan->scratch_bytes, 4), 0);
      barrier(d, XFER, VK_ACCESS_TRANSFER_WRITE_BIT, CS, SR | SW);
      hz.nr = hz.nw = 0;
    } else if (hazard(&hz, c)) {
      barrier(d, CS, SW, CS, SR | SW);
      hz.nr = hz.nw = 0;
    }
    bind_buffers(d, c, scratch, sets ? sets[i] : VK_NULL_HANDLE);
    d->fn.vkCmdPushConstants(d->cmd, d->pipeline_layout, VK_SHADER_STAGE_COMPUTE_BIT, 0,
                             c->params_size, c->params);
    for (uint32_t s = 0; s < plan->n_stages; s++) {
      const uint32_t* g = plan->stages[s].groups;
      /* Stages of one command always depend on each other. */
      if (s > 0) barrier(d, CS, SW, CS, SR | SW);
      d->fn.vkCmdBindPipeline(d->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, prep[i].pipes[s]);
      if (g[0] && g[1] && g[2]) d->fn.vkCmdDispatch(d->cmd, g[0], g[1], g[2]);
    }
    if (plan->n_stages > 1) hz.nr = hz.nw = 0; /* its last stage's barrier covered the rest */
    track(&hz, c);
  }
  if (timestamps) {
    d->fn.vkCmdWriteTimestamp(d->cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, d->query_pool, 1);
  }
  /* Results visible to the host (mapped reads) and to later submissions. */
  barrier(d, CS | XFER, VK_ACCESS_MEMORY_WRITE_BIT, VK_PIPELINE_STAGE_HOST_BIT,
          VK_ACCESS_HOST_READ_BIT);
  r = d->fn.vkEndCommandBuffer(d->cmd);
  if (r != VK_SUCCESS) return bnvk_fail(d, r, "vkEndCommandBuffer");
  return BN_OK;
}

int32_t bnvk_run(void* dev, const bn_cmd_t* cmds, uint32_t n, double* gpu_seconds) {
  bnvk_dev_t* d = dev;
  int32_t st = bnvk_check_usable(d);
  if (st != BN_OK) return st;
  if (n > 0 && !cmds) return bn_fail(BN_ERR_INVALID_ARGUMENT, "vulkan: run: null commands");
  if (n == 0) {
    if (gpu_seconds) *gpu_seconds = 0.0;
    return BN_OK;
  }
  prepared_t* prep = calloc(n, sizeof *prep);
  VkDescriptorSet* sets = NULL;
  if (!prep) return bn_fail(BN_ERR_OUT_OF_MEMORY, "vulkan: out of host memory");
  uint64_t max_scratch = 0;
  st = prepare(d, cmds, n, prep, &max_scratch);
  if (st == BN_OK) st = ensure_scratch(d, max_scratch);
  if (st == BN_OK && !d->push_descriptors) {
    st = ensure_descriptor_pool(d, n);
    VkDescriptorSetLayout* layouts = NULL;
    if (st == BN_OK) {
      sets = calloc(n, sizeof *sets);
      layouts = calloc(n, sizeof *layouts);
      if (!sets || !layouts) st = bn_fail(BN_ERR_OUT_OF_MEMORY, "vulkan: out of host memory");
    }
    if (st == BN_OK) {
      for (uint32_t i = 0; i < n; i++) layouts[i] = d->set_layout;
      VkDescriptorSetAllocateInfo ai = {
          .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
          .descriptorPool = d->desc_pool,
          .descriptorSetCount = n,
          .pSetLayouts = layouts,
      };
      VkResult r = d->fn.vkAllocateDescriptorSets(d->device, &ai, sets);
      if (r != VK_SUCCESS) st = bnvk_fail(d, r, "vkAllocateDescriptorSets");
    }
    free(layouts);
  }
  const bool timestamps = d->query_pool != VK_NULL_HANDLE;
  if (st == BN_OK) st = record(d, cmds, n, prep, sets, timestamps);
  free(prep);
  free(sets);
  if (st == BN_OK) st = bnvk_submit_wait(d, d->cmd, d->fence, "batch");
  if (st != BN_OK) return st;

  double secs = -1.0;
  if (timestamps) {
    uint64_t ts[2] = {0, 0};
    VkResult r = d->fn.vkGetQueryPoolResults(d->device, d->query_pool, 0, 2, sizeof ts, ts,
                                             sizeof ts[0],
                                             VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT);
    if (r == VK_SUCCESS) {
      const uint32_t bits = d->phys->timestamp_valid_bits;
      const uint64_t mask = bits >= 64 ? ~0ull : ((1ull << bits) - 1);
      const uint64_t ticks = (ts[1] - ts[0]) & mask;
      secs = (double)ticks * d->timestamp_period_ns / 1e9;
    } else if (r == VK_ERROR_DEVICE_LOST) {
      return bnvk_fail(d, r, "vkGetQueryPoolResults");
    }
  }
  if (gpu_seconds) *gpu_seconds = secs;
  return BN_OK;
}
