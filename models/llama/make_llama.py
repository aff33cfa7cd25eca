#!/usr/bin/python3
"""Build the bundled Llama-style draft/target pair of tetris-flink.

A second pair beside the byte-level GPT one (../make_models.py), shaped like what users bring:
RMSNorm, rotary positions fed by `position_ids`, SwiGLU, grouped-query attention (fewer KV heads
than heads), tied embeddings, and a BPE tokenizer with byte fallback (the Llama 2 / Mistral
`tokenizer.json` layout), trained here with Debian's sentencepiece on the same Debian text as the
byte-level pair. The draft is distilled from the target. Exports use the Optimum decoder naming,
in fp32 (one file each) and in fp16 (fp16 weights, caches and logits; weights in an external-data
file, as large exports ship).

Developers run this by hand, once (entry point: build.sh); CI only loads the committed outputs.

Requirements (Debian bookworm, as root):
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \\
        python3-torch python3-onnx python3-numpy python3-sentencepiece libopenblas0-pthread \\
        fortunes jargon-text

Subcommands:
    make_llama.py tokenizer                 train the BPE tokenizer, tokenize the corpus
    make_llama.py tokenizer-reference       sentencepiece's ids for tokenizer tests
    make_llama.py train NAME SECONDS [--teacher target] [--threads N]
    make_llama.py export                    fp32/, fp16/ and the reference files
    make_llama.py evaluate                  agreement and greedy speculative acceptance
"""
import argparse
import json
import math
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import make_models as mm  # noqa: E402  (corpus, Debian checks)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import onnx  # noqa: E402
from onnx import numpy_helper, TensorProto  # noqa: E402

try:
    import sentencepiece as spm
except ImportError:  # pragma: no cover
    sys.stderr.write("error: needs python3-sentencepiece (Debian)\n")
    sys.exit(2)

CKPT = os.path.join(HERE, "ckpt")
VOCAB = 2048
UNK, BOS, EOS = 0, 1, 2
CTX = 512
OPSET = 14
ROPE_THETA = 10000.0

CONFIGS = {
    # 4 query heads share 2 KV heads (GQA); the draft's 2 heads share 1
    "target": {"layers": 4, "d_model": 128, "heads": 4, "kv_heads": 2, "ffn": 352},
    "draft": {"layers": 1, "d_model": 64, "heads": 2, "kv_heads": 1, "ffn": 192},
}


# --------------------------------------------------------------------------------------------
# Tokenizer
# --------------------------------------------------------------------------------------------


def doc_text(d):
    return d.decode("utf-8", errors="replace")


def cmd_tokenizer(a):
    os.makedirs(CKPT, exist_ok=True)
    _, train, held, _ = mm.load_corpus()
    lines = [l for d in train for l in doc_text(d).split("\n") if l.strip()]
    prefix = os.path.join(CKPT, "sp")
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines), model_prefix=prefix, model_type="bpe",
        vocab_size=VOCAB, byte_fallback=True, character_coverage=0.9995,
        normalization_rule_name="identity", remove_extra_whitespaces=False,
        add_dummy_prefix=True, split_digits=True, unk_id=UNK, bos_id=BOS, eos_id=EOS,
        pad_id=-1, max_sentence_length=65536, num_threads=2, minloglevel=2)
    sp = spm.SentencePieceProcessor(model_file=prefix + ".model")
    for name, docs in (("train", train), ("held", held)):
        ids = []
        starts = []
        for d in docs:
            starts.append(len(ids))
            ids += sp.encode(doc_text(d)) + [EOS]
        np.save(os.path.join(CKPT, name + "_ids.npy"), np.array(ids, dtype=np.int64))
        np.save(os.path.join(CKPT, name + "_starts.npy"), np.array(starts, dtype=np.int64))
        print("%s: %d documents, %d bytes, %d tokens (%.2f bytes/token)" % (
            name, len(docs), sum(len(d) for d in docs), len(ids),
            sum(len(d) for d in docs) / len(ids)), flush=True)
    with open(os.path.join(HERE, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tokenizer_json(sp), f, ensure_ascii=False, indent=1)
        f.write("\n")
    write_tokenizer_configs(HERE)
    cmd_tokenizer_reference()


REFERENCE_STRINGS = ["Héllo, wörld!\n  tabs\tand 日本 😀 x", "  leading spaces", "a  b   c",
                     "12345 + 678", "Grüße aus Köln", "trailing space ", "\nnewline first"]


def cmd_tokenizer_reference(a=None):
    """tokenizer_reference.json: sentencepiece's own ids for the first 100 held-out documents
    and a few hand-made strings, which the Java tests compare with tokenizer.json's."""
    sp = spm.SentencePieceProcessor(model_file=os.path.join(CKPT, "sp.model"))
    _, _, held, _ = mm.load_corpus()
    texts = [doc_text(d) for d in held[:100]] + REFERENCE_STRINGS
    with open(os.path.join(HERE, "tokenizer_reference.json"), "w", encoding="utf-8") as f:
        json.dump([{"text": t, "ids": sp.encode(t)} for t in texts], f, ensure_ascii=False)
        f.write("\n")


def tokenizer_json(sp):
    """The Llama 2 layout: a Prepend/Replace normalizer, BPE with byte fallback, and the
    Replace/ByteFallback/Fuse/Strip decoder. Merges follow the sentencepiece scores (piece order),
    as Hugging Face's converter derives them."""
    n = sp.get_piece_size()
    vocab = {sp.id_to_piece(i): i for i in range(n)}
    merges = []
    for piece, rank in sorted(vocab.items(), key=lambda kv: kv[1]):
        if sp.is_byte(rank) or sp.is_control(rank) or sp.is_unknown(rank):
            continue
        local = []
        for cut in range(1, len(piece)):
            left, right = piece[:cut], piece[cut:]
            if left in vocab and right in vocab:
                local.append((vocab[left], vocab[right], left, right))
        local.sort()
        merges += ["%s %s" % (l, r) for _, _, l, r in local]
    special = [{"id": i, "content": sp.id_to_piece(i), "single_word": False, "lstrip": False,
                "rstrip": False, "normalized": False, "special": True} for i in (UNK, BOS, EOS)]
    return {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": special,
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": "\u2581"},
            {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]},
        "pre_tokenizer": None, "post_processor": None,
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
            {"type": "ByteFallback"}, {"type": "Fuse"},
            {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
        "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>",
                  "continuing_subword_prefix": None, "end_of_word_suffix": None,
                  "fuse_unk": True, "byte_fallback": True, "vocab": vocab, "merges": merges},
    }


def write_tokenizer_configs(out):
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump({"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
                   "add_bos_token": False, "add_eos_token": False,
                   "model_max_length": CTX, "tokenizer_class": "LlamaTokenizer"}, f, indent=1)
        f.write("\n")


def load_stream(name):
    return (np.load(os.path.join(CKPT, name + "_ids.npy")),
            np.load(os.path.join(CKPT, name + "_starts.npy")))


# --------------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------------


class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], dim=-1)


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, self.h, self.kvh = c["d_model"], c["heads"], c["kv_heads"]
        self.hd = d // self.h
        self.norm1 = RMSNorm(d)
        self.q = nn.Linear(d, self.h * self.hd, bias=False)
        self.k = nn.Linear(d, self.kvh * self.hd, bias=False)
        self.v = nn.Linear(d, self.kvh * self.hd, bias=False)
        self.o = nn.Linear(self.h * self.hd, d, bias=False)
        self.norm2 = RMSNorm(d)
        self.gate = nn.Linear(d, c["ffn"], bias=False)
        self.up = nn.Linear(d, c["ffn"], bias=False)
        self.down = nn.Linear(c["ffn"], d, bias=False)

    def forward(self, x, cos, sin, blocked, past_k=None, past_v=None):
        B, T, D = x.shape
        h = self.norm1(x)
        q = self.q(h).view(B, T, self.h, self.hd).transpose(1, 2)
        k = self.k(h).view(B, T, self.kvh, self.hd).transpose(1, 2)
        v = self.v(h).view(B, T, self.kvh, self.hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if past_k is not None:
            k = torch.cat([past_k, k], dim=2)
            v = torch.cat([past_v, v], dim=2)
        # Grouped-query attention without copying K/V per query head: the query heads that
        # share a KV head are one group ([B,KVH,rep,T,hd] against [B,KVH,1,S,hd]); head h reads
        # KV head h // rep, as repeat_interleave would (which torch 1.13 exports with fixed shapes).
        rep = self.h // self.kvh
        qg = q.reshape(B, self.kvh, rep, T, self.hd)
        att = torch.matmul(qg, k.unsqueeze(2).transpose(-2, -1)) * (1.0 / math.sqrt(self.hd))
        att = att.masked_fill(blocked.unsqueeze(2), mm.NEG)
        att = torch.softmax(att, dim=-1)
        y = torch.matmul(att, v.unsqueeze(2)).reshape(B, self.h, T, self.hd)
        y = y.transpose(1, 2).reshape(B, T, self.h * self.hd)
        x = x + self.o(y)
        h = self.norm2(x)
        x = x + self.down(F.silu(self.gate(h)) * self.up(h))
        return x, k, v


class Llama(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.cfg = dict(c, vocab=VOCAB, context=CTX, rope_theta=ROPE_THETA)
        self.embed = nn.Embedding(VOCAB, c["d_model"])
        self.blocks = nn.ModuleList([Block(c) for _ in range(c["layers"])])
        self.norm = RMSNorm(c["d_model"])
        hd = c["d_model"] // c["heads"]
        self.register_buffer("inv_freq", 1.0 / (ROPE_THETA ** (torch.arange(0, hd, 2).float() / hd)),
                             persistent=False)
        for n, p in self.named_parameters():
            if p.dim() >= 2:
                std = 0.02 / math.sqrt(2 * c["layers"]) if n.endswith(("o.weight", "down.weight")) \
                    else 0.02
                nn.init.normal_(p, std=std)

    def n_params(self):
        return sum(p.numel() for p in self.parameters())

    def rope(self, position_ids):
        freqs = position_ids.unsqueeze(-1).float() * self.inv_freq  # [B,T,hd/2]
        emb = torch.cat([freqs, freqs], dim=-1).unsqueeze(1)  # [B,1,T,hd]
        return emb.cos(), emb.sin()

    def forward_train(self, idx):
        B, T = idx.shape
        cos, sin = self.rope(torch.arange(T).unsqueeze(0).expand(B, T))
        blocked = torch.triu(torch.ones(1, 1, T, T, dtype=torch.bool), diagonal=1)
        x = self.embed(idx)
        for b in self.blocks:
            x, _, _ = b(x, cos, sin, blocked)
        return F.linear(self.norm(x), self.embed.weight)

    def forward(self, input_ids, attention_mask, position_ids, past):
        """The exported contract, as the byte-level pair's: query i (absolute index P+i) may
        attend key j iff j <= P+i and attention_mask[:, j] == 1. past: [(k, v)], [B,KVH,P,hd]."""
        T = input_ids.shape[1]
        P = past[0][0].shape[2]
        cos, sin = self.rope(position_ids)
        qi = torch.arange(T).unsqueeze(1) + P  # [T,1]
        kj = torch.arange(P + T).unsqueeze(0)  # [1,S]
        future = kj > qi  # [T,S]
        blocked = future.unsqueeze(0).unsqueeze(0) | (attention_mask.unsqueeze(1).unsqueeze(2) == 0)
        x = self.embed(input_ids)
        presents = []
        for b, (pk, pv) in zip(self.blocks, past):
            x, k, v = b(x, cos, sin, blocked, pk, pv)
            presents.append((k, v))
        return F.linear(self.norm(x), self.embed.weight), presents


def build(c):
    return Llama({k: c[k] for k in ("layers", "d_model", "heads", "kv_heads", "ffn")})


def load_model(name):
    return mm.load_model(name, build, CKPT)


# --------------------------------------------------------------------------------------------
# Training (time-bounded; the draft can be distilled from a trained target)
# --------------------------------------------------------------------------------------------


def cmd_train(a):
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    stream, starts = load_stream("train")
    held, _ = load_stream("held")
    path = os.path.join(CKPT, a.name + ".pt")
    if a.init_from:
        m, ck = load_model(a.init_from)
        m.train()
        history = ck["stats"]["phases"]
    else:
        m = build(CONFIGS[a.config or a.name])
        history = []
    teacher = None
    if a.teacher:
        teacher, _ = load_model(a.teacher)
        for p in teacher.parameters():
            p.requires_grad_(False)
    decay = [p for p in m.parameters() if p.dim() >= 2]
    nodecay = [p for p in m.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": nodecay, "weight_decay": 0.0}], lr=a.lr, betas=(0.9, 0.95))
    B, T = a.batch, a.seq
    print("[%s] %s, %d params; train %d tokens; B=%d T=%d lr=%g budget %ds, teacher %s"
          % (a.name, m.cfg, m.n_params(), len(stream), B, T, a.lr, a.seconds, a.teacher),
          flush=True)
    t0 = time.time()
    step = tokens = 0
    ema = None
    last_print = last_save = t0

    def save():
        phase = {"steps": step, "tokens": tokens, "seconds": round(time.time() - t0, 1),
                 "batch": B, "seq": T, "lr": a.lr, "teacher": a.teacher,
                 "threads": a.threads, "loss_ema_nats": ema}
        torch.save({"cfg": m.cfg, "model": m.state_dict(),
                    "stats": {"phases": history + [phase]}}, path + ".tmp")
        os.replace(path + ".tmp", path)

    while time.time() - t0 < a.seconds:
        frac = (time.time() - t0) / a.seconds
        lr = a.lr * min(1.0, (step + 1) / a.warmup) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))
        for g in opt.param_groups:
            g["lr"] = lr
        long = a.long_every > 0 and step % a.long_every == a.long_every - 1
        b_, t_ = (max(1, B * T // CTX), CTX) if long else (B, T)
        n0 = (b_ + 1) // 2  # half the rows start at a document start, like a prompt
        st = np.concatenate([starts[rng.integers(0, len(starts), n0)],
                             rng.integers(0, len(stream) - t_ - 1, b_ - n0)])
        st = np.minimum(st, len(stream) - t_ - 1)
        idx = np.stack([stream[s:s + t_ + 1] for s in st])
        x = torch.from_numpy(idx[:, :-1])
        y = torch.from_numpy(idx[:, 1:])
        logits = m.forward_train(x).reshape(-1, VOCAB)
        loss = F.cross_entropy(logits, y.reshape(-1))
        if teacher is not None:
            with torch.no_grad():
                soft = torch.softmax(teacher.forward_train(x).reshape(-1, VOCAB), -1)
            kl = -(soft * torch.log_softmax(logits, -1)).sum(-1).mean()
            loss = a.hard_weight * loss + (1 - a.hard_weight) * kl
        ema = mm.optimise(m, opt, loss, ema)
        step += 1
        tokens += b_ * t_
        now = time.time()
        if now - last_print >= 30:
            last_print = now
            print("[%s] step %d %.0fs loss %.3f lr %.2e %.0f tok/s" % (
                a.name, step, now - t0, ema, lr, tokens / (now - t0)), flush=True)
        if now - last_save >= 300:
            last_save = now
            save()
    save()
    m.eval()
    print("[%s] done: %d steps, %d tokens; held-out bits/token %.3f" % (
        a.name, step, tokens, heldout_bits(m, held, 60000)), flush=True)


@torch.no_grad()
def heldout_bits(m, held, limit):
    s = held[:limit]
    n = (len(s) - 1) // CTX
    tot = cnt = 0.0
    for i in range(0, n, 16):
        w = np.stack([s[j * CTX:(j + 1) * CTX + 1] for j in range(i, min(n, i + 16))])
        lg = m.forward_train(torch.from_numpy(w[:, :-1]))
        y = torch.from_numpy(w[:, 1:])
        tot += F.cross_entropy(lg.reshape(-1, VOCAB), y.reshape(-1), reduction="sum").item()
        cnt += y.numel()
    return tot / cnt / math.log(2)


# --------------------------------------------------------------------------------------------
# Export: fp32 (one file each) and fp16 (weights in external data), reference logits
# --------------------------------------------------------------------------------------------

FP16_MAX = 65504.0


class TorchReference:
    """The reference the Java runner is checked against: PyTorch itself (onnxruntime is not in
    Debian, and the ONNX graphs are what is under test)."""

    def __init__(self, m):
        self.m = m

    def run(self, feeds):
        return mm.run_torch(self.m, feeds)


def to_fp16(model):
    """An fp16 copy of an fp32 export: fp16 weights, caches and logits, fp16 compute. The rotary
    angles stay fp32 up to Cos/Sin (at position 500 an fp16 angle would be off by up to 0.125
    rad), as transformers computes them. Unlike transformers, which upcasts them, RMSNorm's mean
    square and the softmax are computed in fp16 too: fine for this model's activations (|x| well
    under 256), not a recipe for others. Constants are clamped to the fp16 range (the -1e9 of
    masked attention scores becomes -65504, still finite)."""
    g = model.graph
    producer = {o: n for n in g.node for o in n.output}
    keep = set()
    stack = [i for n in g.node if n.op_type in ("Cos", "Sin") for i in n.input]
    while stack:
        v = stack.pop()
        n = producer.get(v)
        if n is not None and id(n) not in keep:
            keep.add(id(n))
            stack.extend(n.input)
    kept_inputs = {i for n in g.node if id(n) in keep for i in n.input}
    converted_inputs = {i for n in g.node if id(n) not in keep for i in n.input}

    def half(arr):
        return np.clip(arr, -FP16_MAX, FP16_MAX).astype(np.float16)

    inits = list(g.initializer)
    del g.initializer[:]
    renamed = {}
    for t in inits:
        if t.data_type != TensorProto.FLOAT:
            g.initializer.append(t)
            continue
        arr = numpy_helper.to_array(t)
        if t.name in kept_inputs:
            g.initializer.append(t)
        if t.name in converted_inputs:
            name = t.name if t.name not in kept_inputs else t.name + ".fp16"
            renamed[t.name] = name
            g.initializer.append(numpy_helper.from_array(half(arr), name))
    new_nodes = []
    for n in g.node:
        if id(n) in keep:
            new_nodes.append(n)
            continue
        for i, v in enumerate(n.input):
            if v in renamed:
                n.input[i] = renamed[v]
        if n.op_type in ("Cos", "Sin"):
            out = n.output[0]
            n.output[0] = out + ".fp32"
            new_nodes.append(n)
            new_nodes.append(onnx.helper.make_node("Cast", [out + ".fp32"], [out],
                                                   to=TensorProto.FLOAT16, name=out + ".cast"))
            continue
        for a in n.attribute:
            if n.op_type == "Cast" and a.name == "to" and a.i == TensorProto.FLOAT:
                a.i = TensorProto.FLOAT16
            if a.type == onnx.AttributeProto.TENSOR and a.t.data_type == TensorProto.FLOAT:
                a.t.CopyFrom(numpy_helper.from_array(half(numpy_helper.to_array(a.t)), a.t.name))
        new_nodes.append(n)
    del g.node[:]
    g.node.extend(new_nodes)
    for v in list(g.input) + list(g.output):
        if v.type.tensor_type.elem_type == TensorProto.FLOAT:
            v.type.tensor_type.elem_type = TensorProto.FLOAT16
    del g.value_info[:]
    return model


def config_json(m, dtype):
    c = m.cfg
    return {"architectures": ["LlamaForCausalLM"], "model_type": "llama",
            "hidden_size": c["d_model"], "intermediate_size": c["ffn"],
            "num_hidden_layers": c["layers"], "num_attention_heads": c["heads"],
            "num_key_value_heads": c["kv_heads"], "head_dim": c["d_model"] // c["heads"],
            "vocab_size": VOCAB, "max_position_embeddings": CTX, "rope_theta": ROPE_THETA,
            "rms_norm_eps": 1e-5, "tie_word_embeddings": True, "hidden_act": "silu",
            "bos_token_id": BOS, "eos_token_id": EOS, "torch_dtype": dtype}


def cmd_export():
    torch.set_num_threads(2)
    variants = {"fp32": 1e-4, "fp16": None}
    refs = {"format": "see models/README.md#reference-logits", "vocab_size": VOCAB,
            "eos_id": EOS, "models": {}}
    for v in variants:
        os.makedirs(os.path.join(HERE, v), exist_ok=True)
    for name in ("target", "draft"):
        m, _ = load_model(name)
        fp32 = os.path.join(HERE, "fp32", name + ".onnx")
        model = mm.export_onnx(m, fp32)
        refs["models"][name] = {"file": name + ".onnx", "layers": m.cfg["layers"],
                                "heads": m.cfg["kv_heads"],
                                "head_dim": m.cfg["d_model"] // m.cfg["heads"],
                                "cases": mm.reference_cases(m, TorchReference(m))}
        half_model = to_fp16(model)
        fp16 = os.path.join(HERE, "fp16", name + ".onnx")
        for stale in (fp16, fp16 + ".data"):
            if os.path.exists(stale):
                os.remove(stale)
        onnx.save_model(half_model, fp16, save_as_external_data=True,
                        all_tensors_to_one_file=True, location=name + ".onnx.data",
                        size_threshold=0)
        onnx.checker.check_model(fp16)
        for v in variants:
            with open(os.path.join(HERE, v, "config_%s.json" % name), "w") as f:
                json.dump(config_json(m, "float16" if v == "fp16" else "float32"), f, indent=1)
                f.write("\n")
        print("[%s] fp32 %d bytes; fp16 %d + %d bytes" % (
            name, os.path.getsize(fp32), os.path.getsize(fp16),
            os.path.getsize(fp16 + ".data")), flush=True)
    # fp16 keeps about 3 significant digits: its logits are checked against the fp32 reference
    # with a tolerance the Java test states and justifies, not the 1e-4 of fp32.
    for v, tol in variants.items():
        out = dict(refs, tolerance=tol)
        with open(os.path.join(HERE, v, "reference_logits.json"), "w") as f:
            json.dump(out, f, separators=(",", ":"))
            f.write("\n")
        for f in ("tokenizer.json", "tokenizer_config.json"):
            with open(os.path.join(HERE, f), "rb") as src, \
                    open(os.path.join(HERE, v, f), "wb") as dst:
                dst.write(src.read())
    print("wrote fp32/ and fp16/", flush=True)


def cmd_evaluate():
    """Held-out agreement of the pair and greedy speculative acceptance, measured as for the
    byte-level pair (make_models.py evaluate), on the same held-out prompts."""
    torch.set_num_threads(2)
    t0 = time.time()
    sp = spm.SentencePieceProcessor(model_file=os.path.join(CKPT, "sp.model"))
    held, _ = load_stream("held")
    tm, tck = load_model("target")
    dm, dck = load_model("draft")
    s = held[:60001]
    n = (len(s) - 1) // CTX
    agree = alpha = cnt = 0.0
    bits = {"target": 0.0, "draft": 0.0}
    with torch.no_grad():
        for i in range(0, n, 16):
            w = np.stack([s[j * CTX:(j + 1) * CTX + 1] for j in range(i, min(n, i + 16))])
            x = torch.from_numpy(w[:, :-1])
            y = torch.from_numpy(w[:, 1:]).reshape(-1)
            lt = tm.forward_train(x).reshape(-1, VOCAB)
            ld = dm.forward_train(x).reshape(-1, VOCAB)
            bits["target"] += F.cross_entropy(lt, y, reduction="sum").item()
            bits["draft"] += F.cross_entropy(ld, y, reduction="sum").item()
            agree += (lt.argmax(-1) == ld.argmax(-1)).sum().item()
            alpha += torch.minimum(torch.softmax(lt, -1), torch.softmax(ld, -1)).sum().item()
            cnt += y.numel()
    raw_bytes = sum(len(sp.decode(held[j * CTX:(j + 1) * CTX].tolist()).encode()) for j in range(n))
    pair = {"eval_tokens": int(cnt), "top1_agreement": agree / cnt, "alpha": alpha / cnt,
            "target_bits_per_token": bits["target"] / cnt / math.log(2),
            "draft_bits_per_token": bits["draft"] / cnt / math.log(2),
            "target_bits_per_byte_approx": bits["target"] / math.log(2) / max(1, raw_bytes)}
    print(json.dumps(pair, indent=1), flush=True)
    with open(os.path.join(os.path.dirname(HERE), "eval_prompts.txt")) as f:
        prompts = [l.rstrip("\n") for l in f if l.strip()]
    new_tokens = 48
    gens, props = [], []
    for p in prompts:
        pid = sp.encode(p)
        g = mm.greedy(tm, pid, new_tokens, eos=EOS)
        gens.append(g)
        props.append(mm.draft_proposals(dm, pid, g, 6, eos=EOS))
    # Bytes of text per target call compare with the byte-level pair, whose tokens are bytes.
    text_bytes = sum(len(sp.decode([t for t in g if t != EOS]).encode()) for g in gens)
    spec = {}
    for k in range(1, 7):
        R = D = A = N = 0
        for g, pr in zip(gens, props):
            r, d, acc = mm.simulate_spec(g, pr, k, new_tokens, eos=EOS)
            R, D, A, N = R + r, D + d, A + acc, N + len(g)
        spec[str(k)] = {"acceptance": A / D, "tokens_per_target_call": N / R,
                        "bytes_per_target_call": text_bytes / R,
                        "accepted": A, "drafted": D, "target_calls": R, "new_tokens": N}
        print("k=%d acceptance %.4f, tokens per target call %.3f, bytes %.3f" % (
            k, A / D, N / R, text_bytes / R), flush=True)
    samples = [{"prompt": p, "continuation": sp.decode([t for t in g if t != EOS]),
                "ended_with_eos": bool(g and g[-1] == EOS)} for p, g in zip(prompts[:8], gens[:8])]
    for smp in samples:
        print("%r -> %r" % (smp["prompt"], smp["continuation"]), flush=True)

    def info(m, ck):
        return dict(m.cfg, params=m.n_params(), training=ck["stats"])

    metrics = {"tokenizer": {"type": "sentencepiece BPE with byte fallback", "vocab_size": VOCAB,
                             "unk": UNK, "bos": BOS, "eos": EOS},
               "models": {"target": info(tm, tck), "draft": info(dm, dck)},
               "heldout": pair,
               "speculative_greedy": {"prompts_file": "../eval_prompts.txt",
                                      "max_new_tokens": new_tokens, "per_k": spec},
               "samples": samples, "eval_seconds": round(time.time() - t0, 1)}
    with open(os.path.join(HERE, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=1)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("tokenizer")
    sub.add_parser("tokenizer-reference")
    t = sub.add_parser("train")
    t.add_argument("name")
    t.add_argument("seconds", type=float)
    t.add_argument("--config")
    t.add_argument("--init-from")
    t.add_argument("--teacher")
    t.add_argument("--hard-weight", type=float, default=0.3)
    t.add_argument("--threads", type=int, default=1)
    t.add_argument("--lr", type=float, default=2e-3)
    t.add_argument("--warmup", type=int, default=100)
    t.add_argument("--batch", type=int, default=16)
    t.add_argument("--seq", type=int, default=128)
    t.add_argument("--long-every", type=int, default=4)
    t.add_argument("--seed", type=int, default=1)
    sub.add_parser("export")
    sub.add_parser("evaluate")
    a = ap.parse_args()
    {"tokenizer": cmd_tokenizer, "tokenizer-reference": cmd_tokenizer_reference,
     "train": cmd_train,
     "export": lambda a: cmd_export(), "evaluate": lambda a: cmd_evaluate()}[a.cmd](a)


if __name__ == "__main__":
    main()
