#!/usr/bin/env python3
"""PyTorch eager's side of `offrt bench train`: the same training step on the
same model, batch, sequence, data and threads, timed the same way.

transformers' LlamaForCausalLM in fp32 (HF init, attention `sdpa` unless
--attn says otherwise: the fastest eager choice torch offers on CPU), K
micro-batches of `(loss / K).backward()`, clip_grad_norm_, AdamW (torch's
CPU default), zero_grad; micro-batches in llm.c's order from an llm.c token
file. The first --warmup steps are not timed. Prints one JSON object:
  {"tokens_per_s": ..., "ms_per_step": [...], "losses": [...], ...}
Usage (offrt bench train runs it; by hand):
  .venv/bin/python bench/train_torch.py --config config.json --data tokens.bin
      --batch 8 --seq 128 [--grad-accum 1] [--steps 10] [--warmup 2]
      [--threads 2] [--lr 1e-3] [--clip 1.0] [--attn sdpa|eager]
      [--autocast] [--profile]
--autocast runs forward and loss under torch.autocast("cpu", bfloat16) (fp32
master weights, .grad and AdamW: PyTorch's mixed precision, what a
bf16-mixed plan is compared with). --profile adds "profile": torch.profiler's
self CPU time per op (ms per timed step, calls) over the timed steps, which
then run under the profiler (the timing is that run's).
"""

import argparse
import json
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from transformers import LlamaConfig, LlamaForCausalLM


def read_llmc_tokens(path):
    header = np.fromfile(path, dtype="<i4", count=256)
    if header.size != 256 or header[0] != 20240520 or header[1] not in (1, 2):
        sys.exit(f"{path}: not an llm.c token file (magic 20240520, version 1|2)")
    dtype = "<u2" if header[1] == 1 else "<u4"
    tokens = np.fromfile(path, dtype=dtype, offset=1024)
    if tokens.size != header[2]:
        sys.exit(f"{path}: header announces {header[2]} tokens, file holds {tokens.size}")
    return tokens.astype(np.int64)


def main():
    parser = argparse.ArgumentParser(description="PyTorch eager training step timing")
    parser.add_argument("--config", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--batch", type=int, required=True)
    parser.add_argument("--seq", type=int, required=True)
    parser.add_argument("--grad-accum", type=int, default=1)
    parser.add_argument("--steps", type=int, default=10, help="timed steps")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--clip", type=float, default=1.0)
    parser.add_argument("--attn", choices=["sdpa", "eager"], default="sdpa")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--autocast", action="store_true")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    with open(args.config) as f:
        config_dict = json.load(f)
    config_dict.pop("architectures", None)
    config = LlamaConfig(**config_dict)
    config._attn_implementation = args.attn
    torch.manual_seed(args.seed)
    model = LlamaForCausalLM(config).float().train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=args.lr)

    tokens = torch.from_numpy(read_llmc_tokens(args.data))
    B, T, K = args.batch, args.seq, args.grad_accum
    span = B * T
    windows = (len(tokens) - 1) // span
    if windows < 1:
        sys.exit(f"{args.data}: {len(tokens)} tokens, need at least {span + 1}")
    vocab = config.vocab_size

    micro_batch = 0
    times, losses = [], []
    profiler = None
    for step in range(args.warmup + args.steps):
        if args.profile and step == args.warmup:
            profiler = torch.profiler.profile(
                activities=[torch.profiler.ProfilerActivity.CPU])
            profiler.__enter__()
        started = time.perf_counter()
        total = 0.0
        for _ in range(K):
            start = (micro_batch % windows) * span
            window = tokens[start:start + span + 1]
            micro_batch += 1
            inputs = window[:-1].view(B, T)
            targets = window[1:].view(B, T)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.autocast):
                logits = model(input_ids=inputs).logits
                loss = F.cross_entropy(logits.view(-1, vocab), targets.reshape(-1))
            (loss / K).backward()
            total += loss.item()
        if args.clip > 0:
            torch.nn.utils.clip_grad_norm_(params, args.clip)
        optimizer.step()
        optimizer.zero_grad()
        elapsed = time.perf_counter() - started
        losses.append(total / K)
        if step >= args.warmup:
            times.append(elapsed)
    tokens_per_step = B * T * K
    result = {
        "tokens_per_s": tokens_per_step * len(times) / sum(times),
        "ms_per_step": [round(t * 1e3, 3) for t in times],
        "losses": [round(l, 5) for l in losses],
        "threads": torch.get_num_threads(), "attn": args.attn,
        "autocast": args.autocast, "torch": torch.__version__,
    }
    if profiler is not None:
        profiler.__exit__(None, None, None)
        result["profile"] = {
            event.key: {"ms": event.self_cpu_time_total / 1e3 / args.steps,
                        "calls": event.count / args.steps}
            for event in profiler.key_averages() if event.self_cpu_time_total > 0}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
