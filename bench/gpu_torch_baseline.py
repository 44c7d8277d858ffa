"""The PyTorch baseline of scripts/gpu-check.sh's training-step benchmark:
Hugging Face's LlamaForCausalLM (fp32, random init) on the GPU with
activation checkpointing, the AdamW step on the CPU (fp32 master weights and
moments in host memory; gradients copied down, weights copied up each step),
the nearest PyTorch gets to offrt's "optimizer on the host" plan without
DeepSpeed. Prints one JSON line: ms per step (mean after the first), tokens/s.

  python3 bench/gpu_torch_baseline.py --size llama3.2-1b --models-dir models \
      --batch 4 --seq 1024 --steps 4 [--bf16]
"""
import argparse
import json
import os
import time

import torch
import transformers


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", required=True)
    ap.add_argument("--models-dir", required=True)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--seq", type=int, default=1024)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--bf16", action="store_true",
                    help="forward and backward under torch.autocast(bfloat16): fp32 weights, "
                         "bf16 matrix products (offrt's --precision bf16-mixed)")
    a = ap.parse_args()
    with open(os.path.join(a.models_dir, "llama", a.size + ".json")) as f:
        config = transformers.LlamaConfig(**json.load(f))
    torch.manual_seed(0)
    model = transformers.LlamaForCausalLM(config).to(torch.float32).cuda()
    model.gradient_checkpointing_enable()
    model.config.use_cache = False
    gpu_params = [p for p in model.parameters() if p.requires_grad]
    host_params = [p.detach().to("cpu").pin_memory().requires_grad_(True) for p in gpu_params]
    opt = torch.optim.AdamW(host_params, lr=1e-3, weight_decay=0.01)
    ids = torch.randint(0, 256, (a.batch, a.seq), device="cuda")
    times = []
    for _ in range(a.steps):
        torch.cuda.synchronize()
        start = time.perf_counter()
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=a.bf16):
            loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(gpu_params, 1.0)
        for hp, gp in zip(host_params, gpu_params):
            hp.grad = gp.grad.to("cpu", non_blocking=True)
            gp.grad = None
        torch.cuda.synchronize()
        opt.step()
        opt.zero_grad(set_to_none=True)
        for hp, gp in zip(host_params, gpu_params):
            gp.data.copy_(hp.data, non_blocking=True)
        torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    timed = times[1:] or times
    ms = 1e3 * sum(timed) / len(timed)
    params = sum(p.numel() for p in gpu_params)
    tps = a.batch * a.seq / (ms / 1e3)
    print(json.dumps({"ms_per_step": round(ms, 1), "tokens_per_s": round(tps, 1), "params": params,
                      "tflops_6PT": round(6 * params * tps / 1e12, 2),
                      "torch": torch.__version__, "bf16_autocast": a.bf16,
                      "loss_last": float(loss)}))


if __name__ == "__main__":
    main()
