"""off-autodiff's training step against Hugging Face autograd, without kernels.

`offc import` builds a Llama, `off-opt --off-autodiff` turns it into


@train_step, and this script interprets that step in torch fp64: every graph
op by its definition in dialects/off/IR/OffOps.td, every fused grad op
(rms_norm_grad, rope_grad, attention_grad, swiglu_grad, cross_entropy_grad)
as the torch autograd vector-Jacobian product of its forward op. The loss,
every parameter gradient (the grad operand of each adam_step) and the global
norm must equal those of transformers' LlamaForCausalLM on the same weights
and data, with the micro-batch loop `(loss / K).backward()`. transformers
is given the IR's RoPE tables (its rotary embedding returns them, in fp64)
and kept in fp64 where it computes in f32 on purpose (its RMSNorm and its
eager attention's softmax upcast to f32, a no-op for f32 models only), so
both sides compute the same function in fp64 and must agree to 1e-10
(loss, global norm, and every gradient relative to its largest element).

Checks the pass (which op gets which gradient, fan-out sums, GQA, tied
embeddings, accumulation), not the runtime's kernels. Run by ctest
(off_python_test); needs offc and off-opt on PATH.
"""

import json
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F
from transformers import AttentionInterface, LlamaConfig, LlamaForCausalLM
from transformers.models.llama.modeling_llama import LlamaRMSNorm

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_harness import SOURCE_DIR, check, finish  # noqa: E402

TINY = os.path.join(SOURCE_DIR, "models", "llama", "tiny.json")

# Both sides in fp64 with the same RoPE tables: only summation order differs.
GRAD_RTOL = 1e-10
LOSS_RTOL = 1e-10

# --- the forward ops, as OffOps.td defines them -----------------------------


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], -1)


def rope(x, cos, sin):
    return x * cos + rotate_half(x) * sin


def rms_norm(x, w, eps):
    return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + eps) * w


def attention(q, k, v, causal, scale):
    group = q.shape[1] // k.shape[1]
    k = k.repeat_interleave(group, 1)
    v = v.repeat_interleave(group, 1)
    scores = (q @ k.transpose(-1, -2)) * scale
    if causal:
        t, s = q.shape[2], k.shape[2]
        keep = torch.ones(t, s, dtype=torch.bool).tril(s - t)
        scores = scores.masked_fill(~keep, float("-inf"))
    return torch.softmax(scores, -1) @ v


def cross_entropy(logits, targets):
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                           targets.reshape(-1).long())


def vjp(f, inputs, grad_output):
    xs = [x.detach().requires_grad_(True) for x in inputs]
    return torch.autograd.grad(f(*xs), xs, grad_output)


# --- a reader of the generic op form ------------------------------------------

OP_RE = re.compile(r'^(?:(%\w+)(?::(\d+))? = )?"([\w.]+)"\((.*?)\)'
                   r'(?: <\{(.*)\}>)? : \((.*?)\) -> (.*)$')


def tensor_shape(text):
    dims = re.match(r"\(?tensor<(.*?)>", text.strip()).group(1).split("x")[:-1]
    return [int(d) for d in dims]


def dense_value(attrs, shape, element):
    value = re.search(r"value = dense<(.*?)>", attrs).group(1)
    if value.startswith('"0x'):
        dtype = {"f32": np.float32, "i32": np.int32, "i64": np.int64}[element]
        array = np.frombuffer(bytes.fromhex(value[3:-1]), dtype=dtype)
        if array.size == 1:
            array = np.full(shape, array[0])
        return torch.tensor(array.reshape(shape).astype(np.float64))
    return torch.full(shape, float(value), dtype=torch.float64)


def run_step(step_text, params, ids, targets, tables):
    """Interprets @train_step; returns (loss, norm, {param name: grad}).
    `tables` receives the [T, D] cos and sin tables the rope ops read."""
    values = {"%arg0": ids.double(), "%arg1": targets.double()}
    param_of = {}
    grads = {}
    body = step_text[step_text.index("^bb0"):].splitlines()[1:]
    for line in body:
        line = line.strip()
        if line.startswith('"func.return"'):
            loss, norm = [values[v] for v in re.findall(r"%[\w#]+", line)]
            return loss.item(), norm.item(), grads
        match = OP_RE.match(line)
        if not match:
            raise SystemExit(f"cannot read: {line}")
        result, count, name, operands, attrs, _, out_types = match.groups()
        attrs = attrs or ""
        args = [values[o.strip()] for o in operands.split(",") if o.strip()]

        def attr(key):
            found = re.search(key + r" = ([^,}]+?)(?: : \w+)?(?:,|$)", attrs)
            return found.group(1) if found else None

        op = name.removeprefix("off.")
        causal = "causal" in attrs
        if op == "param":
            pname = re.search(r'name = "([^"]+)"', attrs).group(1)
            out = params[pname]
            param_of[id(out)] = pname
        elif op == "state":
            out = None
        elif op == "constant":
            element = re.match(r"tensor<(?:[\dx]*x)?(\w+)>",
                               out_types.strip()).group(1)
            out = dense_value(attrs, tensor_shape(out_types), element)
        elif op == "reshape":
            out = args[0].reshape(tensor_shape(out_types))
        elif op == "slice":
            start, end = int(attr("start")), int(attr("end"))
            out = args[0].narrow(int(attr("axis")), start, end - start)
        elif op == "transpose":
            perm = re.search(r"perm = array<i64: ([\d, ]+)>", attrs).group(1)
            out = args[0].permute([int(p) for p in perm.split(",")])
        elif op == "matmul":
            lhs, rhs = args
            if attr("transpose_lhs") == "true":
                lhs = lhs.transpose(-1, -2)
            if attr("transpose_rhs") == "true":
                rhs = rhs.transpose(-1, -2)
            out = lhs @ rhs
        elif op == "add":
            out = args[0] + args[1]
        elif op == "div":
            out = args[0] / args[1]
        elif op == "embedding":
            out = args[0][args[1].long()]
        elif op == "embedding_grad":
            dy = args[1].reshape(-1, args[1].shape[-1])
            out = torch.zeros(int(attr("vocab_size")), dy.shape[-1],
                              dtype=dy.dtype)
            out.index_add_(0, args[0].reshape(-1).long(), dy)
        elif op == "rms_norm":
            out = rms_norm(args[0], args[1], float(attr("eps")))
        elif op == "rms_norm_grad":
            eps = float(attr("eps"))
            out = vjp(lambda x, w: rms_norm(x, w, eps), args[:2], args[2])
        elif op == "rope":
            out = rope(*args)
            tables.setdefault("cos", args[1])
            tables.setdefault("sin", args[2])
            if not (torch.equal(tables["cos"], args[1]) and
                    torch.equal(tables["sin"], args[2])):
                raise SystemExit("rope ops read different tables")
        elif op == "rope_grad":  # rope is linear in x
            out = vjp(lambda x: rope(x, args[1], args[2]),
                      [torch.zeros_like(args[0])], args[0])[0]
        elif op in ("attention", "attention_grad"):
            scale = float(attr("scale")) if attr("scale") else \
                args[0].shape[-1] ** -0.5
            fwd = lambda q, k, v: attention(q, k, v, causal, scale)
            out = fwd(*args) if op == "attention" else vjp(fwd, args[:3], args[3])
        elif op == "swiglu":
            out = F.silu(args[0]) * args[1]
        elif op == "swiglu_grad":
            out = vjp(lambda g, u: F.silu(g) * u, args[:2], args[2])
        elif op == "cross_entropy":
            out = cross_entropy(args[0], args[1])
        elif op == "cross_entropy_grad":
            out = vjp(lambda l: cross_entropy(l, args[1]), [args[0]], args[2])[0]
        elif op == "global_norm":
            out = torch.sqrt(sum((g * g).sum() for g in args))
        elif op == "adam_step":
            grads[param_of[id(args[0])]] = args[1]
            out = None
        else:
            raise SystemExit(f"the interpreter has no rule for {name}")
        if result and count:
            for i in range(int(count)):
                values[f"{result}#{i}"] = out[i] if out is not None else None
        elif result:
            values[result] = out
    raise SystemExit("no func.return in @train_step")


def fp64_rms_norm(module):
    return lambda x: module.weight * (x * torch.rsqrt(
        x.pow(2).mean(-1, keepdim=True) + module.variance_epsilon))


def fp64_eager_attention(module, query, key, value, attention_mask, scaling,
                         dropout=0.0, **kwargs):
    """transformers' eager attention without its f32 softmax. Causal: the
    inputs have no padding, so transformers' mask (whose form depends on the
    attention implementation) is the causal one, applied here directly."""
    groups = module.num_key_value_groups
    key = key.repeat_interleave(groups, dim=1)
    value = value.repeat_interleave(groups, dim=1)
    weights = torch.matmul(query, key.transpose(2, 3)) * scaling
    t, s = weights.shape[-2:]
    future = torch.ones(t, s, dtype=torch.bool).triu(s - t + 1)
    weights = weights.masked_fill(future, float("-inf"))
    weights = torch.softmax(weights, dim=-1)
    return torch.matmul(weights, value).transpose(1, 2).contiguous(), weights


def hf_reference(config, params, ids, targets, tables):
    AttentionInterface.register("fp64_eager", fp64_eager_attention)
    config._attn_implementation = "fp64_eager"
    model = LlamaForCausalLM(config).double()
    for module in model.modules():
        if isinstance(module, LlamaRMSNorm):
            module.forward = fp64_rms_norm(module)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(params[name])
    # The IR's tables instead of transformers' own (which differ by f32
    # rounding of the angles): cos/sin of shape [B, T, D] at position_ids.
    cos, sin = tables["cos"], tables["sin"]
    model.model.rotary_emb.forward = lambda x, position_ids: (
        cos[position_ids].to(x.dtype), sin[position_ids].to(x.dtype))
    k = ids.shape[0]
    total = 0.0
    for mb in range(k):
        logits = model(input_ids=ids[mb].long()).logits
        loss = cross_entropy(logits, targets[mb])
        (loss / k).backward()
        total += loss.item()
    grads = {n: p.grad for n, p in model.named_parameters()}
    return total / k, grads


def check_model(label, config_dict, accum, batch, seq, workdir):
    print(f"== {label}: grad-accum {accum}, batch {batch}, seq {seq}")
    config_path = os.path.join(workdir, f"{label}.json")
    with open(config_path, "w") as f:
        json.dump(config_dict, f)
    forward = os.path.join(workdir, f"{label}.mlir")
    subprocess.run(["offc", "import", "--model", "llama", "--config",
                    config_path, "--batch", str(batch), "--seq", str(seq),
                    "-o", forward], check=True)
    step = subprocess.run(
        ["off-opt", f"--off-autodiff=grad-accum={accum}",
         "--mlir-print-op-generic", forward],
        check=True, capture_output=True, text=True).stdout

    config = LlamaConfig(**{k: v for k, v in config_dict.items()
                            if k != "architectures"})
    config._attn_implementation = "eager"
    generator = torch.Generator().manual_seed(1234)
    params = {}
    for name, p in LlamaForCausalLM(config).named_parameters():
        # Away from HF's init on purpose: norms not 1, so their grads matter.
        params[name] = torch.randn(p.shape, generator=generator,
                                   dtype=torch.float64) * 0.2
    vocab = config.vocab_size
    ids = torch.randint(0, vocab, (accum, batch, seq), generator=generator,
                        dtype=torch.int32)
    targets = torch.randint(0, vocab, (accum, batch, seq), generator=generator,
                            dtype=torch.int32)

    tables = {}
    loss, norm, grads = run_step(step, params, ids, targets, tables)
    check(set(tables) == {"cos", "sin"}, f"{label}: the step has rope ops")
    ref_loss, ref_grads = hf_reference(config, params, ids, targets, tables)
    check(abs(loss - ref_loss) <= LOSS_RTOL * abs(ref_loss),
          f"{label}: loss {loss:.10f} vs transformers {ref_loss:.10f}")
    check(sorted(grads) == sorted(ref_grads),
          f"{label}: an adam_step for each of the {len(ref_grads)} params")
    worst = 0.0
    for name, ref in ref_grads.items():
        if name not in grads:
            continue
        rel = ((grads[name] - ref).abs().max() / ref.abs().max()).item()
        worst = max(worst, rel)
        if rel > GRAD_RTOL:
            check(False, f"{label}: gradient of {name}: rel error {rel:.2e}")
    check(worst <= GRAD_RTOL,
          f"{label}: every gradient within rel {GRAD_RTOL} (worst {worst:.2e})")
    ref_norm = torch.sqrt(sum((g * g).sum() for g in ref_grads.values())).item()
    check(abs(norm - ref_norm) <= LOSS_RTOL * ref_norm,
          f"{label}: global norm {norm:.10f} vs {ref_norm:.10f}")


def main():
    torch.manual_seed(0)
    with open(TINY) as f:
        tiny = json.load(f)
    # Not tiny: more GQA groups, 3 layers, tied embeddings (the embedding
    # table gets the sum of the head's and the lookup's gradients).
    wide = dict(tiny, hidden_size=96, intermediate_size=160,
                num_attention_heads=6, num_key_value_heads=2,
                num_hidden_layers=3, vocab_size=200,
                tie_word_embeddings=True)
    with tempfile.TemporaryDirectory() as workdir:
        check_model("tiny", tiny, accum=2, batch=2, seq=8, workdir=workdir)
        check_model("wide_gqa_tied", wide, accum=1, batch=3, seq=7,
                    workdir=workdir)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
