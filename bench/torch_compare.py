#!/usr/bin/env python3
"""Compare bitnet-metal's tensor matmul with torch.matmul on the same GPU.

Usage (after `deno run -A bench/matmul_report.ts --json /tmp/m.json` on the same machine):

    python3 bench/torch_compare.py /tmp/m.json [--reps 5]

For every shape and dtype the report measured, times torch.matmul on CUDA with CUDA events
(median of `reps` timed loops, each long enough to take ~20 ms, after a warm-up):
  - f32: TF32 disabled (torch.backends.cuda.matmul.allow_tf32 = False, cuDNN likewise),
    i.e. plain FP32 FMA GEMM like ours;
  - f16: f16 inputs and output (cuBLAS uses tensor cores; ours reads f16, accumulates and
    writes f32 on the CUDA cores, so expect torch to be far ahead there).
Layouts match the report: A [m, k]; B [k, n], or [n, k] used as B.t() when transposeB.
Prints TFLOPS of both and the ratio ours / torch (and the older matmul_f32 op where the
report has it). Needs PyTorch with CUDA; no network.
"""

import argparse
import json
import statistics
import sys


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("report", help="JSON written by bench/matmul_report.ts --json")
    ap.add_argument("--reps", type=int, default=5, help="timed loops per shape (median)")
    ap.add_argument("--target-ms", type=float, default=20.0, help="length of one timed loop")
    ap.add_argument("--json", help="also write the comparison here")
    args = ap.parse_args()

    try:
        import torch
    except ImportError:
        print("torch_compare: PyTorch is not installed", file=sys.stderr)
        return 1
    if not torch.cuda.is_available():
        print("torch_compare: no CUDA device", file=sys.stderr)
        return 1
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    if hasattr(torch, "set_float32_matmul_precision"):
        torch.set_float32_matmul_precision("highest")

    with open(args.report, encoding="utf-8") as f:
        report = json.load(f)
    rows = report.get("rows", [])
    gpu_rows = [r for r in rows if r.get("backend") != "cpu"]
    if not gpu_rows:
        print("torch_compare: the report has no GPU rows (was a GPU device measured?)", file=sys.stderr)
    cpu_rows = {(r["shape"], r["dtype"]): r for r in rows if r.get("backend") == "cpu" and r["op"] == "gemm"}

    dev = torch.device("cuda")
    name = torch.cuda.get_device_name(dev)
    print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, {name}; TF32 off")

    cache = {}

    def torch_seconds(m, n, k, trans_b, dtype):
        key = (m, n, k, trans_b, dtype)
        if key in cache:
            return cache[key]
        td = torch.float32 if dtype == "f32" else torch.float16
        gen = torch.Generator(device=dev)
        gen.manual_seed(1234)
        a = torch.rand((m, k), device=dev, dtype=torch.float32, generator=gen).mul_(2).sub_(1).to(td)
        b = torch.rand((n, k) if trans_b else (k, n), device=dev, dtype=torch.float32, generator=gen)
        b = b.mul_(2).sub_(1).to(td)
        bb = b.t() if trans_b else b
        out = torch.empty((m, n), device=dev, dtype=td)

        def run(iters):
            for _ in range(iters):
                torch.matmul(a, bb, out=out)

        run(3)
        torch.cuda.synchronize()
        # calibrate iterations per timed loop
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        run(5)
        end.record()
        end.synchronize()
        per = max(start.elapsed_time(end) / 5, 1e-4)  # ms
        iters = max(5, min(2000, int(args.target_ms / per)))
        samples = []
        for _ in range(args.reps):
            start.record()
            run(iters)
            end.record()
            end.synchronize()
            samples.append(start.elapsed_time(end) / 1e3 / iters)
        sec = statistics.median(samples)
        cache[key] = sec
        del a, b, bb, out
        torch.cuda.empty_cache()
        return sec

    results = []
    header = "| device | shape | dtype | ours TFLOPS | torch TFLOPS | ours/torch | matmul_f32 TFLOPS | cpu TFLOPS |"
    print()
    print(header)
    print("|---|---|---|---:|---:|---:|---:|---:|")
    old = {(r["device"], r["shape"], r["dtype"]): r for r in gpu_rows if r["op"] == "matmul_f32"}
    for r in gpu_rows:
        if r["op"] != "gemm":
            continue
        m, n, k = r["m"], r["n"], r["k"]
        flops = 2.0 * m * n * k
        ts = torch_seconds(m, n, k, bool(r.get("transposeB")), r["dtype"])
        torch_tflops = flops / ts / 1e12
        ratio = r["tflops"] / torch_tflops
        o = old.get((r["device"], r["shape"], r["dtype"]))
        c = cpu_rows.get((r["shape"], r["dtype"]))
        results.append({
            "device": r["device"], "shape": r["shape"], "dtype": r["dtype"], "m": m, "n": n, "k": k,
            "transposeB": bool(r.get("transposeB")), "ours_tflops": r["tflops"],
            "torch_tflops": torch_tflops, "ratio": ratio,
            "matmul_f32_tflops": o["tflops"] if o else None, "cpu_tflops": c["tflops"] if c else None,
        })
        old_txt = f"{o['tflops']:.3g}" if o else ""
        cpu_txt = f"{c['tflops']:.3g}" if c else ""
        print(f"| {r['device']} | {r['shape']} | {r['dtype']} | {r['tflops']:.3g} | {torch_tflops:.3g} | "
              f"{ratio:.3g} | {old_txt} | {cpu_txt} |")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"torch": torch.__version__, "gpu": name, "rows": results}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
