"""Reading graph-level off IR in Python, for the ONNX importer's tests.

* `read_forward(text)`: the ops of @forward from MLIR in generic form
  (`off-opt --mlir-print-op-generic`), one `Op` per line.
* `canonical(ops)`: the graph as a sequence that does not depend on the order
  the frontend emitted independent ops in: a post-order walk from the
  returned values, operands in order, each op as (name, attributes, result
  type, positions of its operands in the sequence). Two modules compute the
  same thing the same way exactly when their sequences are equal.
* `run_forward(ops, params, ids)`: interprets @forward in torch fp64, each op
  by its definition in dialects/off/IR/OffOps.td (written here from that
  definition, not from the compiler's code).
"""

import re

import numpy as np
import torch
import torch.nn.functional as F

OP_RE = re.compile(r'^\s*(?:(%[\w#]+) = )?"([\w.]+)"\((.*?)\)'
                   r'(?: <\{(.*?)\}>)?(?: \{(.*?)\})? : \((.*?)\) -> (.*)$')


class Op:
    def __init__(self, result, name, operands, props, attrs, result_type):
        self.result = result
        self.name = name
        self.operands = operands
        self.props = props or ""
        self.attrs = attrs or ""
        self.result_type = result_type.strip()

    def prop(self, key):
        found = re.search(key + r' = ("[^"]*"|array<[^>]*>|[^,]+?)(?: : \w+)?(?:,|$)',
                          self.props)
        return found.group(1) if found else None

    def has_unit(self, key):
        return re.search(r"(?:^|, )" + key + r"(?:,|$)", self.props) is not None

    def __repr__(self):
        return f"{self.result} = {self.name}({', '.join(self.operands)})"


def read_forward(generic_text):
    """The ops of @forward (generic form); the last one is func.return."""
    start = generic_text.index('sym_name = "forward"')
    body = generic_text[start:].splitlines()[2:]
    ops = []
    for line in body:
        match = OP_RE.match(line)
        if not match:
            raise SystemExit(f"cannot read this IR line: {line.strip()[:200]}")
        result, name, operands, props, attrs, _, result_type = match.groups()
        ops.append(Op(result, name, re.findall(r"%[\w#]+", operands), props,
                      attrs, result_type))
        if name == "func.return":
            return ops
    raise SystemExit("no func.return in @forward")


def shape_of(type_text):
    dims = re.match(r"\(?tensor<(.*?)>", type_text.strip()).group(1).split("x")[:-1]
    return [int(d) for d in dims]


def element_of(type_text):
    return re.match(r"\(?tensor<(?:[\dx]*x)?(\w+)>", type_text.strip()).group(1)


def param_name(op):
    return op.prop("name").strip('"')


def canonical(ops):
    """[(name, attributes, result type, operand positions)] in post-order."""
    by_result = {op.result: op for op in ops if op.result}
    order, position = [], {}

    def key(op):
        if op.name == "off.param":
            attrs = f'name={param_name(op)}'  # not onnx_name, the provenance note
        elif op.name == "off.constant":
            attrs = "value"  # compared numerically elsewhere (rope tables)
        else:
            attrs = op.props
        return (op.name, attrs, op.result_type)

    def visit(value):
        if value in position:
            return position[value]
        op = by_result.get(value)
        if op is None:  # a function argument
            position[value] = ("arg", value)
            return position[value]
        stack = [(op, False)]
        while stack:
            current, expanded = stack.pop()
            if current.result in position:
                continue
            pending = [o for o in current.operands
                       if o not in position and o in by_result]
            if not expanded and pending:
                stack.append((current, True))
                for operand in reversed(pending):
                    stack.append((by_result[operand], False))
                continue
            for operand in current.operands:
                if operand not in by_result and operand not in position:
                    position[operand] = ("arg", operand)
            operands = tuple(position[o] for o in current.operands)
            position[current.result] = len(order)
            order.append(key(current) + (operands,))
        return position[value]

    for value in ops[-1].operands:
        visit(value)
    return order


# --- the forward ops, as OffOps.td defines them -----------------------------

def rope(x, cos, sin):
    half = x.shape[-1] // 2
    rotated = torch.cat([-x[..., half:], x[..., :half]], -1)
    return x * cos + rotated * sin


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


def constant_value(op):
    value = re.search(r"value = dense<(.*?)>", op.props).group(1)
    shape, element = shape_of(op.result_type), element_of(op.result_type)
    dtype = {"f32": np.float32, "f64": np.float64, "i32": np.int32,
             "i64": np.int64, "i1": np.bool_}[element]
    if value.startswith('"0x'):
        array = np.frombuffer(bytes.fromhex(value[3:-1]), dtype=dtype)
        if array.size == 1:
            array = np.full(shape, array[0])
        array = array.reshape(shape)
    else:
        text = value.replace("true", "1").replace("false", "0")
        array = np.array(eval(text), dtype=dtype)  # nested lists or a splat
        array = np.broadcast_to(array, shape)
    return torch.tensor(np.array(array).astype(np.float64))


def run_forward(ops, params, ids):
    """Logits of @forward(ids) in fp64; params maps param names to tensors."""
    values = {"%arg0": ids.double()}
    for op in ops:
        args = [values[o] for o in op.operands]
        name = op.name.removeprefix("off.")
        if op.name == "func.return":
            return args[0]
        if name == "param":
            out = params[param_name(op)].double()
        elif name == "constant":
            out = constant_value(op)
        elif name == "embedding":
            out = args[0][args[1].long()]
        elif name == "rms_norm":
            x, w = args
            eps = float(op.prop("eps"))
            out = x * torch.rsqrt((x * x).mean(-1, keepdim=True) + eps) * w
        elif name == "matmul":
            lhs, rhs = args
            if op.prop("transpose_lhs") == "true":
                lhs = lhs.transpose(-1, -2)
            if op.prop("transpose_rhs") == "true":
                rhs = rhs.transpose(-1, -2)
            out = lhs @ rhs
        elif name == "reshape":
            out = args[0].reshape(shape_of(op.result_type))
        elif name == "transpose":
            perm = re.search(r"array<i64: ([\d, ]+)>", op.prop("perm")).group(1)
            out = args[0].permute([int(p) for p in perm.split(",")])
        elif name == "rope":
            out = rope(*args)
        elif name == "attention":
            scale = op.prop("scale")
            scale = float(scale) if scale else args[0].shape[-1] ** -0.5
            out = attention(*args, op.has_unit("causal"), scale)
        elif name == "swiglu":
            out = F.silu(args[0]) * args[1]
        elif name in ("add", "sub", "mul", "div"):
            out = {"add": torch.add, "sub": torch.sub, "mul": torch.mul,
                   "div": torch.div}[name](args[0], args[1])
        elif name == "silu":
            out = F.silu(args[0])
        else:
            raise SystemExit(f"the test interpreter has no rule for {op.name}")
        values[op.result] = out
    raise SystemExit("no func.return")
