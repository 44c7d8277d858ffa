"""A Llama written by hand in PyTorch, as people write one outside transformers.

Its own module structure and names (`layers.0.attention.wq`), weights kept
as plain `nn.Parameter`s in [out, in] layout and applied as `x @ W.T`,
RoPE computed in the forward from positions (rotate-half form, as
transformers), RMSNorm weights initialised to ones, and the causal mask
written a different way in each of its three layers: an additive -inf mask
built in the forward, `masked_fill` with -inf (a Where), and
F.scaled_dot_product_attention(is_causal=True) (which the exporters
decompose). Numerically it is the same
function as transformers' LlamaForCausalLM of the same sizes (no grouped
heads here: every head has its own keys and values).

Used by onnx_fixtures.py (exported with the dynamo exporter at a static
shape) and by onnx_train_vs_torch.py (its own PyTorch training).
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

SIZES = {"vocab": 256, "dim": 64, "hidden": 172, "layers": 3, "heads": 4,
         "theta": 10000.0, "eps": 1e-5}
MASKS = ("additive", "masked_fill", "sdpa")  # layer i uses MASKS[i % 3]


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class Attention(nn.Module):
    def __init__(self, dim, heads, theta, mask):
        super().__init__()
        self.heads, self.head_dim, self.theta, self.mask = heads, dim // heads, theta, mask
        self.wq = nn.Parameter(torch.randn(dim, dim) * 0.02)
        self.wk = nn.Parameter(torch.randn(dim, dim) * 0.02)
        self.wv = nn.Parameter(torch.randn(dim, dim) * 0.02)
        self.wo = nn.Parameter(torch.randn(dim, dim) * 0.02)

    def forward(self, x):
        b, t, c = x.shape
        d = self.head_dim
        q = (x @ self.wq.T).view(b, t, self.heads, d).transpose(1, 2)
        k = (x @ self.wk.T).view(b, t, self.heads, d).transpose(1, 2)
        v = (x @ self.wv.T).view(b, t, self.heads, d).transpose(1, 2)
        # RoPE from the positions, in the graph.
        inv_freq = 1.0 / (self.theta ** (torch.arange(0, d, 2, dtype=torch.float32) / d))
        angles = torch.outer(torch.arange(t, dtype=torch.float32), inv_freq)
        angles = torch.cat((angles, angles), dim=-1)
        cos, sin = angles.cos(), angles.sin()
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if self.mask == "sdpa":
            out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            scores = (q @ k.transpose(-2, -1)) / math.sqrt(d)
            if self.mask == "additive":
                scores = scores + torch.full((t, t), float("-inf")).triu(1)
            else:
                future = torch.ones(t, t, dtype=torch.bool).triu(1)
                scores = scores.masked_fill(future, float("-inf"))
            out = F.softmax(scores, dim=-1) @ v
        return out.transpose(1, 2).reshape(b, t, c) @ self.wo.T


class FeedForward(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.w1 = nn.Parameter(torch.randn(hidden, dim) * 0.02)  # gate
        self.w3 = nn.Parameter(torch.randn(hidden, dim) * 0.02)  # up
        self.w2 = nn.Parameter(torch.randn(dim, hidden) * 0.02)  # down

    def forward(self, x):
        return (F.silu(x @ self.w1.T) * (x @ self.w3.T)) @ self.w2.T


class Block(nn.Module):
    def __init__(self, s, mask):
        super().__init__()
        self.attention_norm = RMSNorm(s["dim"], s["eps"])
        self.attention = Attention(s["dim"], s["heads"], s["theta"], mask)
        self.ffn_norm = RMSNorm(s["dim"], s["eps"])
        self.feed_forward = FeedForward(s["dim"], s["hidden"])

    def forward(self, x):
        x = x + self.attention(self.attention_norm(x))
        return x + self.feed_forward(self.ffn_norm(x))


class HandwrittenLlama(nn.Module):
    def __init__(self, s=SIZES):
        super().__init__()
        self.vocab = s["vocab"]
        self.tok_embeddings = nn.Parameter(torch.randn(s["vocab"], s["dim"]) * 0.02)
        self.layers = nn.ModuleList(Block(s, MASKS[i % len(MASKS)])
                                    for i in range(s["layers"]))
        self.norm = RMSNorm(s["dim"], s["eps"])
        self.output = nn.Parameter(torch.randn(s["vocab"], s["dim"]) * 0.02)

    def forward(self, input_ids):
        x = self.tok_embeddings[input_ids]
        for layer in self.layers:
            x = layer(x)
        return self.norm(x) @ self.output.T


def build(seed):
    torch.manual_seed(seed)
    return HandwrittenLlama()
