"""The PyTorch side of the end-to-end training tests (train_vs_torch.py).

Everything here is written from the documents, not from our code:
* the llm.c token file (docs/data-and-checkpoints.md "Token files"),
* the batch order and wrap rule (same document, "Batch order"),
* one training step as PyTorch users write it: K micro-batches of
  `(loss / K).backward()`, `clip_grad_norm_`, `AdamW.step()`, `zero_grad()`.
"""

import json

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from transformers import LlamaConfig, LlamaForCausalLM

LLMC_MAGIC = 20240520


def write_llmc_tokens(path, tokens):
    """llm.c token file, version 1: 256 int32 header, then uint16 tokens."""
    tokens = np.asarray(tokens)
    assert tokens.min() >= 0 and tokens.max() < 2**16
    header = np.zeros(256, dtype="<i4")
    header[0], header[1], header[2] = LLMC_MAGIC, 1, tokens.size
    with open(path, "wb") as f:
        f.write(header.tobytes())
        f.write(tokens.astype("<u2").tobytes())


def markov_tokens(vocab, count, seed):
    """Token ids from a random sparse bigram chain: learnable structure, so a
    few training steps move the loss well away from ln(vocab)."""
    rng = np.random.default_rng(seed)
    successors = rng.integers(0, vocab, size=(vocab, 4))
    tokens = np.empty(count, dtype=np.int64)
    tokens[0] = rng.integers(vocab)
    choices = rng.integers(0, 4, size=count)
    noise = rng.random(count) < 0.1
    random_ids = rng.integers(0, vocab, size=count)
    for i in range(1, count):
        tokens[i] = (random_ids[i] if noise[i]
                     else successors[tokens[i - 1], choices[i]])
    return tokens


def micro_batch(tokens, index, batch, seq):
    """(inputs, targets) of micro-batch `index`, both int64 [batch, seq]:
    windows of B*T+1 tokens at (index mod W)*B*T, W = floor((N-1)/(B*T))."""
    span = batch * seq
    windows = (len(tokens) - 1) // span
    start = (index % windows) * span
    window = torch.from_numpy(np.asarray(tokens[start:start + span + 1]))
    return (window[:-1].reshape(batch, seq).long(),
            window[1:].reshape(batch, seq).long())


def build_model(config_path, seed, attention="eager"):
    """transformers' Llama in fp32 with eager (or `attention`) attention, HF's
    own init."""
    with open(config_path) as f:
        config_dict = json.load(f)
    config_dict.pop("architectures", None)
    config = LlamaConfig(**config_dict)
    config._attn_implementation = attention
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config).float()
    model.train()
    return model


def save_weights(model, path):
    """Every parameter under its HF name (lm_head too: the tests' configs do
    not tie the embeddings)."""
    tensors = {name: p.detach().contiguous().clone()
               for name, p in model.named_parameters()}
    save_file(tensors, path, metadata={"format": "pt"})


def autocast(bf16):
    """torch.autocast("cpu", dtype=torch.bfloat16) when `bf16`, else nothing:
    the mixed-precision forward (and loss) that a bf16-mixed plan follows."""
    return torch.autocast("cpu", dtype=torch.bfloat16, enabled=bool(bf16))


def logits_of(model, inputs, bf16=False):
    with torch.no_grad(), autocast(bf16):
        return model(input_ids=inputs).logits.float()


def train(model, tokens, batch, seq, accum, steps, hyper, logits_of=None, bf16=False):
    """`steps` optimizer steps of `accum` micro-batches each, in llm.c's order.
    `logits_of(model, inputs)` gives the logits (default: a transformers
    model's `.logits`); with `bf16` the forward and loss run under autocast
    (fp32 master weights, fp32 .grad and AdamW, as PyTorch users train in
    mixed precision).

    Returns the per-step mean loss, the per-step pre-clipping global norm (as
    clip_grad_norm_ returns it) and the summed gradients of step 1 (before
    clipping), by parameter name."""
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(
        params, lr=hyper["lr"], betas=(hyper["beta1"], hyper["beta2"]),
        eps=hyper["eps"], weight_decay=hyper["weight_decay"], foreach=False)
    logits_of = logits_of or (lambda m, ids: m(input_ids=ids).logits)
    losses, norms, first_grads = [], [], None
    index = 0
    for step in range(steps):
        total = 0.0
        for _ in range(accum):
            inputs, targets = micro_batch(tokens, index, batch, seq)
            index += 1
            with autocast(bf16):
                logits = logits_of(model, inputs)
                loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                       targets.reshape(-1))
            (loss / accum).backward()
            total += loss.item()
        if step == 0:
            first_grads = {name: p.grad.detach().clone()
                           for name, p in model.named_parameters()}
        norm = torch.nn.utils.clip_grad_norm_(params, hyper["clip"])
        optimizer.step()
        optimizer.zero_grad()
        losses.append(total / accum)
        norms.append(norm.item())
    return losses, norms, first_grads
