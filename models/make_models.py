#!/usr/bin/python3
"""Build the bundled draft/target model pair of tetris-flink.

Trains a byte-level GPT-2-style target and a smaller draft on text from Debian packages,
exports both to ONNX (Optimum decoder naming, KV cache), writes a shared byte-level
tokenizer.json, reference logits for the Java tests, and an evaluation (metrics.json).

Developers run this by hand, once; CI never retrains, it only loads the committed outputs.

Requirements (Debian bookworm, as root):
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \\
        python3-torch python3-onnx python3-numpy libopenblas0-pthread fortunes jargon-text

Run with Debian's interpreter /usr/bin/python3 (a pyenv `python3` on PATH cannot see
Debian's dist-packages). Usual entry point: models/build.sh. Subcommands:

    make_models.py corpus                          corpus statistics
    make_models.py train NAME LAYERS D HEADS SECONDS [--lr LR] [--batch B] [--seq T]
    make_models.py select                          keep the better of two target candidates
    make_models.py export                          target.onnx, draft.onnx, tokenizer.json,
                                                   reference_logits.json (+ checks)
    make_models.py evaluate                        eval_prompts.txt, metrics.json, samples
    make_models.py verify                          re-run the ONNX checks only
    make_models.py prompts [--count N]             bench_prompts.txt: held-out prompts for
                                                   `tetris bench` (no training needed)

Files are written next to this script. Checkpoints go to ckpt/ (not committed).
"""
import sys

try:
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    import onnx
    from onnx import numpy_helper
except ImportError as e:  # pragma: no cover
    sys.stderr.write(
        "error: %s\n"
        "This script needs Debian's PyTorch, ONNX and NumPy and must run with /usr/bin/python3:\n"
        "  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \\\n"
        "      python3-torch python3-onnx python3-numpy libopenblas0-pthread fortunes jargon-text\n"
        "  /usr/bin/python3 models/make_models.py ...\n" % e)
    sys.exit(2)

import argparse
import gzip
import hashlib
import json
import math
import os
import re
import subprocess
import time

HERE = os.environ.get("MODELS_OUT_DIR") or os.path.dirname(os.path.abspath(__file__))
CKPT = os.path.join(HERE, "ckpt")
VOCAB = 257
EOT = 256
EOT_TEXT = "<|endoftext|>"
CTX = 512
SPLIT_SEED = "tetris-flink-split-v1"
HELDOUT_PERCENT = 5
OPSET = 14
NEG = -1e9  # score of masked attention positions

# --------------------------------------------------------------------------------------------
# Corpus
# --------------------------------------------------------------------------------------------


def dpkg_files(pkg):
    out = subprocess.run(["dpkg", "-L", pkg], check=True, capture_output=True, text=True).stdout
    return [l for l in out.splitlines() if l.strip()]


def fortune_files():
    files = []
    for pkg in ("fortunes", "fortunes-min"):
        for f in dpkg_files(pkg):
            if "/games/fortunes/" not in f or f.endswith(".dat") or f.endswith(".u8"):
                continue
            if os.path.isfile(f) and not os.path.islink(f):
                files.append(f)
    return sorted(set(files))


def jargon_file():
    for f in dpkg_files("jargon-text"):
        if f.endswith("jargon.txt.gz"):
            return f
    raise SystemExit("jargon.txt.gz not found in package jargon-text")


def strip_blank_lines(doc):
    lines = doc.split(b"\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return b"\n".join(l.rstrip() for l in lines)


def split_fortunes(data):
    docs = []
    for part in re.split(rb"(?m)^%[ \t]*\n", data + b"\n"):
        d = strip_blank_lines(part)
        if d:
            docs.append(d)
    return docs


def split_jargon(data):
    """Entries start at lines ':term:'; the preamble is split into paragraphs (>= 64 bytes)."""
    lines = [l[3:] if l.startswith(b"   ") else l for l in data.split(b"\n")]
    text = b"\n".join(lines)
    pieces = re.split(rb"(?m)^(?=:[^:\n]+:)", text)
    docs = []
    for i, p in enumerate(pieces):
        if i == 0:
            for para in re.split(rb"\n\s*\n", p):
                d = strip_blank_lines(para)
                if len(d) >= 64:
                    docs.append(d)
        else:
            d = strip_blank_lines(p)
            if d:
                docs.append(d)
    return docs


def is_heldout(doc):
    h = hashlib.sha1(SPLIT_SEED.encode() + doc).digest()
    return int.from_bytes(h[:4], "big") % 100 < HELDOUT_PERCENT


def load_corpus():
    sources = []
    docs = []
    for f in fortune_files():
        with open(f, "rb") as fh:
            d = split_fortunes(fh.read())
        sources.append(("fortunes", os.path.basename(f), len(d)))
        docs += d
    jf = jargon_file()
    with gzip.open(jf, "rb") as fh:
        d = split_jargon(fh.read())
    sources.append(("jargon-text", os.path.basename(jf), len(d)))
    docs += d
    train = [d for d in docs if not is_heldout(d)]
    held = [d for d in docs if is_heldout(d)]
    return docs, train, held, sources


def to_stream(docs):
    """Documents joined with EOT after each one, as int64 token ids."""
    total = sum(len(d) + 1 for d in docs)
    arr = np.empty(total, dtype=np.int64)
    starts = np.empty(len(docs), dtype=np.int64)
    pos = 0
    for i, d in enumerate(docs):
        starts[i] = pos
        arr[pos:pos + len(d)] = np.frombuffer(d, dtype=np.uint8)
        arr[pos + len(d)] = EOT
        pos += len(d) + 1
    return arr, starts


def corpus_stats():
    docs, train, held, sources = load_corpus()
    pk = {}
    for pkg, name, n in sources:
        pk.setdefault(pkg, [0, 0])
        pk[pkg][0] += 1
        pk[pkg][1] += n
    return {
        "packages": ["fortunes", "fortunes-min", "jargon-text"],
        "fortune_files": [name for pkg, name, n in sources if pkg == "fortunes"],
        "documents": len(docs),
        "bytes": sum(len(d) for d in docs),
        "train_documents": len(train),
        "train_bytes": sum(len(d) for d in train),
        "train_tokens": sum(len(d) + 1 for d in train),
        "heldout_documents": len(held),
        "heldout_bytes": sum(len(d) for d in held),
        "heldout_tokens": sum(len(d) + 1 for d in held),
        "documents_per_package": {"fortunes (+fortunes-min)": pk["fortunes"][1],
                                  "jargon-text": pk["jargon-text"][1]},
        "split": "held out iff sha1('%s' + document bytes)[0:4] (big-endian) %% 100 < %d"
                 % (SPLIT_SEED, HELDOUT_PERCENT),
    }


# --------------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------------


class Block(nn.Module):
    def __init__(self, d, h):
        super().__init__()
        self.h = h
        self.hd = d // h
        self.ln1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.fc = nn.Linear(d, 4 * d)
        self.out = nn.Linear(4 * d, d)

    def forward(self, x, bias, past_k=None, past_v=None):
        B, T, D = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(D, dim=2)
        q = q.view(B, T, self.h, self.hd).transpose(1, 2)
        k = k.view(B, T, self.h, self.hd).transpose(1, 2)
        v = v.view(B, T, self.h, self.hd).transpose(1, 2)
        if past_k is not None:
            k = torch.cat([past_k, k], dim=2)
            v = torch.cat([past_v, v], dim=2)
        att = torch.matmul(q, k.transpose(-2, -1)) * (1.0 / math.sqrt(self.hd))
        att = att.masked_fill(bias, NEG) if bias.dtype == torch.bool else att + bias
        att = torch.softmax(att, dim=-1)
        y = torch.matmul(att, v).transpose(1, 2).reshape(B, T, D)
        x = x + self.proj(y)
        x = x + self.out(F.gelu(self.fc(self.ln2(x))))
        return x, k, v


class GPT(nn.Module):
    def __init__(self, n_layer, d, n_head):
        super().__init__()
        self.cfg = {"layers": n_layer, "d_model": d, "heads": n_head, "vocab": VOCAB, "context": CTX}
        self.wte = nn.Embedding(VOCAB, d)
        self.wpe = nn.Embedding(CTX, d)
        self.blocks = nn.ModuleList([Block(d, n_head) for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(d)
        self.apply(self._init)
        for b in self.blocks:  # GPT-2 scaled init of residual projections
            nn.init.normal_(b.proj.weight, std=0.02 / math.sqrt(2 * n_layer))
            nn.init.normal_(b.out.weight, std=0.02 / math.sqrt(2 * n_layer))

    @staticmethod
    def _init(m):
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=0.02)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, std=0.02)

    def n_params(self):
        return sum(p.numel() for p in self.parameters())

    def forward_train(self, idx, pos0):
        """idx [B,T], pos0 [B] first position of each row; plain causal attention."""
        B, T = idx.shape
        pos = pos0[:, None] + torch.arange(T)[None, :]
        x = self.wte(idx) + self.wpe(pos)
        bias = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
        for b in self.blocks:
            x, _, _ = b(x, bias)
        return F.linear(self.ln_f(x), self.wte.weight)

    def forward(self, input_ids, attention_mask, position_ids, past):
        """The exported contract. past: list of (k, v) with shape [B,H,P,hd] (P may be 0).

        Query i (absolute index P+i) may attend key j iff j <= P+i and attention_mask[:, j] == 1.
        """
        T = input_ids.shape[1]
        P = past[0][0].shape[2]
        x = self.wte(input_ids) + self.wpe(position_ids)
        qi = torch.arange(T).unsqueeze(1) + P  # [T,1]
        kj = torch.arange(P + T).unsqueeze(0)  # [1,S]
        future = kj > qi  # [T,S]
        blocked = future.unsqueeze(0).unsqueeze(0) | (attention_mask.unsqueeze(1).unsqueeze(2) == 0)
        presents = []
        for b, (pk, pv) in zip(self.blocks, past):
            x, k, v = b(x, blocked, pk, pv)
            presents.append((k, v))
        logits = F.linear(self.ln_f(x), self.wte.weight)
        return logits, presents


def build(cfg):
    return GPT(cfg["layers"], cfg["d_model"], cfg["heads"])


def load_model(name, build_model=None, ckpt=None):
    """A checkpoint of ckpt/ (or of `ckpt`), built by `build_model` (default: this GPT)."""
    ck = torch.load(os.path.join(ckpt or CKPT, name + ".pt"), map_location="cpu")
    m = (build_model or build)(ck["cfg"])
    m.load_state_dict(ck["model"])
    m.eval()
    return m, ck


def empty_past(m, B):
    c = m.cfg
    hd = c["d_model"] // c["heads"]
    kvh = c.get("kv_heads", c["heads"])  # fewer KV heads with grouped-query attention
    return [(torch.zeros(B, kvh, 0, hd), torch.zeros(B, kvh, 0, hd)) for _ in range(c["layers"])]


# --------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------


def optimise(m, opt, loss, ema):
    """One optimiser step on `loss` (gradients clipped to norm 1); returns the loss's running
    average."""
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
    opt.step()
    return loss.item() if ema is None else 0.98 * ema + 0.02 * loss.item()


def cmd_train(a):
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    _, train, held, _ = load_corpus()
    stream, starts = to_stream(train)
    hstream, _ = to_stream(held)
    os.makedirs(CKPT, exist_ok=True)
    if os.path.exists(os.path.join(CKPT, a.name + ".done")):
        os.remove(os.path.join(CKPT, a.name + ".done"))
    cfg = {"layers": a.layers, "d_model": a.d, "heads": a.heads, "vocab": VOCAB, "context": CTX}
    m = build(cfg)
    history = []
    if a.init_from:
        ck = torch.load(os.path.join(CKPT, a.init_from + ".pt"), map_location="cpu")
        if ck["cfg"] != cfg:
            raise SystemExit("--init-from %s: config %s != %s" % (a.init_from, ck["cfg"], cfg))
        m.load_state_dict(ck["model"])
        history = ck["stats"].get("phases", [ck["stats"]])
        print("[%s] initialised from %s (%d steps, %d tokens so far)" % (
            a.name, a.init_from, sum(p["steps"] for p in history), sum(p["tokens"] for p in history)),
            flush=True)
    decay = [p for n, p in m.named_parameters() if p.dim() >= 2]
    nodecay = [p for n, p in m.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": nodecay, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.95))
    B, T = a.batch, a.seq
    print("[%s] %d layers x d%d x %d heads, %d params; train %d tokens; B=%d T=%d lr=%g "
          "budget %ds, %d thread(s)" % (a.name, a.layers, a.d, a.heads, m.n_params(), len(stream),
                                        B, T, a.lr, a.seconds, torch.get_num_threads()), flush=True)
    t0 = time.time()
    step = 0
    tokens = 0
    ema = None
    last_print = t0
    last_save = t0
    path = os.path.join(CKPT, a.name + ".pt")
    horizon = a.lr_horizon or a.seconds
    BL = max(1, B * T // CTX)  # rows of a full-context (512) batch

    def save(final):
        phase = {"steps": step, "tokens": tokens, "seconds": round(time.time() - t0, 1),
                 "batch": B, "seq": T, "long_every": a.long_every, "lr": a.lr,
                 "lr_horizon_s": horizon, "init_from": a.init_from, "threads": a.threads,
                 "final": final, "loss_ema_nats": ema}
        phases = history + [phase]
        stats = {"steps": sum(p["steps"] for p in phases), "tokens": sum(p["tokens"] for p in phases),
                 "seconds": round(sum(p["seconds"] for p in phases), 1), "phases": phases}
        torch.save({"cfg": cfg, "model": m.state_dict(), "stats": stats}, path + ".tmp")
        os.replace(path + ".tmp", path)

    while True:
        el = time.time() - t0
        if el >= a.seconds:
            break
        frac = min(1.0, el / horizon)
        lr = a.lr * min(1.0, (step + 1) / a.warmup) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))
        for g in opt.param_groups:
            g["lr"] = lr
        # half the rows start at a document start at position 0 (like a prompt), the others
        # at a random stream offset and a random position offset (trains all 512 positions)
        # with --long-every N, every N-th step uses full-context windows (BL x 512) instead,
        # so that attention over up to 512 keys is trained too
        long = a.long_every > 0 and step % a.long_every == a.long_every - 1
        b_, t_ = (BL, CTX) if long else (B, T)
        n0 = (b_ + 1) // 2
        st = np.concatenate([starts[rng.integers(0, len(starts), n0)],
                             rng.integers(0, len(stream) - t_ - 1, b_ - n0)])
        st = np.minimum(st, len(stream) - t_ - 1)
        pos0 = np.concatenate([np.zeros(n0, dtype=np.int64), rng.integers(0, CTX - t_ + 1, b_ - n0)])
        idx = np.stack([stream[s:s + t_ + 1] for s in st])
        x = torch.from_numpy(idx[:, :-1])
        y = torch.from_numpy(idx[:, 1:])
        logits = m.forward_train(x, torch.from_numpy(pos0))
        loss = F.cross_entropy(logits.reshape(-1, VOCAB), y.reshape(-1))
        ema = optimise(m, opt, loss, ema)
        step += 1
        tokens += b_ * t_
        now = time.time()
        if a.more_threads_after and torch.get_num_threads() < 2 and \
                os.path.exists(os.path.join(CKPT, a.more_threads_after + ".done")):
            torch.set_num_threads(2)
            print("[%s] %s finished: now using 2 threads" % (a.name, a.more_threads_after), flush=True)
        if now - last_print >= a.print_every:
            last_print = now
            print("[%s] step %d  %.0fs  loss %.3f nats (%.3f bits)  lr %.2e  %.0f tok/s"
                  % (a.name, step, now - t0, ema, ema / math.log(2), lr, tokens / (now - t0)),
                  flush=True)
        if now - last_save >= 300:
            last_save = now
            save(False)
    save(True)
    open(os.path.join(CKPT, a.name + ".done"), "w").close()
    m.eval()
    bpb = heldout_bits(m, hstream, limit=40000)
    print("[%s] done: %d steps, %d tokens, %.0fs; held-out bits/token (first 40k tokens) %.3f"
          % (a.name, step, tokens, time.time() - t0, bpb), flush=True)


# --------------------------------------------------------------------------------------------
# Evaluation helpers
# --------------------------------------------------------------------------------------------

EVAL_WIN = 512


def eval_windows(hstream, limit=None):
    s = hstream if limit is None else hstream[:limit]
    n = (len(s) - 1) // EVAL_WIN
    return [s[i * EVAL_WIN:(i + 1) * EVAL_WIN + 1] for i in range(n)]


@torch.no_grad()
def window_logits(m, w):
    x = torch.from_numpy(np.stack([ww[:-1] for ww in w]))
    return m.forward_train(x, torch.zeros(len(w), dtype=torch.long))


@torch.no_grad()
def heldout_bits(m, hstream, limit=None):
    wins = eval_windows(hstream, limit)
    tot, n = 0.0, 0
    for i in range(0, len(wins), 32):
        w = wins[i:i + 32]
        lg = window_logits(m, w)
        y = torch.from_numpy(np.stack([ww[1:] for ww in w]))
        tot += F.cross_entropy(lg.reshape(-1, VOCAB), y.reshape(-1), reduction="sum").item()
        n += y.numel()
    return tot / n / math.log(2)


@torch.no_grad()
def pair_stats(tm, dm, hstream):
    wins = eval_windows(hstream)
    tb = db = 0.0
    agree = alpha = 0.0
    n = 0
    for i in range(0, len(wins), 32):
        w = wins[i:i + 32]
        y = torch.from_numpy(np.stack([ww[1:] for ww in w])).reshape(-1)
        lt = window_logits(tm, w).reshape(-1, VOCAB)
        ld = window_logits(dm, w).reshape(-1, VOCAB)
        tb += F.cross_entropy(lt, y, reduction="sum").item()
        db += F.cross_entropy(ld, y, reduction="sum").item()
        agree += (lt.argmax(-1) == ld.argmax(-1)).sum().item()
        alpha += torch.minimum(torch.softmax(lt, -1), torch.softmax(ld, -1)).sum().item()
        n += y.numel()
    return {"eval_tokens": n, "target_bits_per_byte": tb / n / math.log(2),
            "draft_bits_per_byte": db / n / math.log(2), "top1_agreement": agree / n,
            "alpha": alpha / n}


@torch.no_grad()
def greedy(m, prompt, n_new, eos=EOT):
    """Greedy generation with the KV-cache path; stops after EOT (EOT is included)."""
    ids = torch.tensor([prompt], dtype=torch.long)
    past = empty_past(m, 1)
    P = 0
    out = []
    x = ids
    while len(out) < n_new:
        T = x.shape[1]
        am = torch.ones(1, P + T, dtype=torch.long)
        pos = torch.arange(P, P + T).unsqueeze(0)
        lg, past = m(x, am, pos, past)
        P += T
        t = int(lg[0, -1].argmax())
        out.append(t)
        if t == eos:
            break
        x = torch.tensor([[t]], dtype=torch.long)
    return out


@torch.no_grad()
def draft_proposals(dm, prompt, gen, kmax, eos=EOT):
    """For every n in [0, len(gen)), the draft's greedy continuation (up to kmax tokens, stopping
    after EOT) of prompt + gen[:n]."""
    seq = prompt + gen
    ids = torch.tensor([seq], dtype=torch.long)
    L = len(seq)
    lg, past = dm(ids, torch.ones(1, L, dtype=torch.long), torch.arange(L).unsqueeze(0),
                  empty_past(dm, 1))
    res = []
    for n in range(len(gen)):
        ctx = len(prompt) + n
        props = [int(lg[0, ctx - 1].argmax())]
        pk = [(k[:, :, :ctx], v[:, :, :ctx]) for k, v in past]
        P = ctx
        while len(props) < kmax and props[-1] != eos:
            x = torch.tensor([[props[-1]]], dtype=torch.long)
            l2, pk = dm(x, torch.ones(1, P + 1, dtype=torch.long), torch.tensor([[P]]), pk)
            P += 1
            props.append(int(l2[0, -1].argmax()))
        res.append(props)
    return res


def simulate_spec(gen, props, k, max_new, eos=EOT):
    """Greedy speculative decoding of one prompt; gen = the target's greedy output (what the
    speculative loop must reproduce), props[n] = draft's greedy proposals after n accepted tokens.
    Each round drafts min(k, max_new - n) tokens (stopping after a drafted EOT), the target
    verifies them in one call, the longest matching prefix is accepted and the target's own next
    token (correction, or bonus when all matched) is appended unless the budget/EOT is reached."""
    n = 0
    rounds = drafted = accepted = 0
    L = len(gen)
    while n < L:
        d = props[n][:min(k, max_new - n)]
        if eos in d:
            d = d[:d.index(eos) + 1]
        a = 0
        while a < len(d) and n + a < L and d[a] == gen[n + a]:
            a += 1
        rounds += 1
        drafted += len(d)
        accepted += a
        n = min(n + a + 1, L)
    return rounds, drafted, accepted


# --------------------------------------------------------------------------------------------
# ONNX export and a small NumPy evaluator for the exported graphs (onnxruntime is not in Debian)
# --------------------------------------------------------------------------------------------


class Wrapper(nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m
        self.L = m.cfg["layers"]

    def forward(self, input_ids, attention_mask, position_ids, *flat):
        past = [(flat[2 * i], flat[2 * i + 1]) for i in range(self.L)]
        logits, pres = self.m(input_ids, attention_mask, position_ids, past)
        out = [logits]
        for k, v in pres:
            out += [k, v]
        return tuple(out)


def io_names(L):
    ins = ["input_ids", "attention_mask", "position_ids"]
    outs = ["logits"]
    for i in range(L):
        ins += ["past_key_values.%d.key" % i, "past_key_values.%d.value" % i]
        outs += ["present.%d.key" % i, "present.%d.value" % i]
    return ins, outs


def export_onnx(m, path):
    c = m.cfg
    L, H, hd = c["layers"], c.get("kv_heads", c["heads"]), c["d_model"] // c["heads"]
    ins, outs = io_names(L)
    B, P, T = 2, 3, 4
    args = [torch.randint(0, 256, (B, T)), torch.ones(B, P + T, dtype=torch.long),
            torch.arange(P, P + T).unsqueeze(0).repeat(B, 1)]
    for _ in range(2 * L):
        args.append(torch.randn(B, H, P, hd))
    dyn = {"input_ids": {0: "batch_size", 1: "sequence_length"},
           "attention_mask": {0: "batch_size", 1: "total_sequence_length"},
           "position_ids": {0: "batch_size", 1: "sequence_length"},
           "logits": {0: "batch_size", 1: "sequence_length"}}
    for i in range(L):
        for kv in ("key", "value"):
            dyn["past_key_values.%d.%s" % (i, kv)] = {0: "batch_size", 2: "past_sequence_length"}
            dyn["present.%d.%s" % (i, kv)] = {0: "batch_size", 2: "total_sequence_length"}
    torch.onnx.export(Wrapper(m), tuple(args), path, input_names=ins, output_names=outs,
                      dynamic_axes=dyn, opset_version=OPSET, do_constant_folding=True)
    model = onnx.load(path)
    onnx.checker.check_model(model)
    return model


class NumpyOnnx:
    """Minimal reference evaluator for the operators torch.onnx emits for this model."""

    def __init__(self, model):
        self.g = model.graph
        self.init = {t.name: numpy_helper.to_array(t) for t in self.g.initializer}

    @staticmethod
    def _attrs(node):
        return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}

    def run(self, feeds):
        env = dict(self.init)
        env.update(feeds)
        for node in self.g.node:
            a = self._attrs(node)
            x = [env[i] if i else None for i in node.input]
            r = self._op(node.op_type, x, a)
            if not isinstance(r, (list, tuple)):
                r = [r]
            for name, val in zip(node.output, r):
                env[name] = val
        return {o.name: env[o.name] for o in self.g.output}

    @staticmethod
    def _op(op, x, a):
        if op == "Constant":
            return numpy_helper.to_array(a["value"])
        if op == "Gather":
            return np.take(x[0], x[1].astype(np.int64), axis=a.get("axis", 0))
        if op == "Shape":
            return np.array(x[0].shape, dtype=np.int64)
        if op == "Unsqueeze":
            r = x[0]
            for ax in sorted(int(v) % (r.ndim + len(x[1])) for v in x[1]):
                r = np.expand_dims(r, ax)
            return r
        if op == "Squeeze":
            return np.squeeze(x[0], axis=tuple(int(v) for v in x[1])) if len(x) > 1 else np.squeeze(x[0])
        if op == "Concat":
            return np.concatenate(x, axis=a["axis"])
        if op == "Add":
            return x[0] + x[1]
        if op == "Sub":
            return x[0] - x[1]
        if op == "Mul":
            return x[0] * x[1]
        if op == "Div":
            if np.issubdtype(x[0].dtype, np.integer):
                return x[0] // x[1]
            return x[0] / x[1]
        if op == "Pow":
            return np.power(x[0], x[1]).astype(x[0].dtype)
        if op == "Sqrt":
            return np.sqrt(x[0])
        if op == "Erf":
            return np.vectorize(math.erf, otypes=[np.float64])(x[0]).astype(x[0].dtype)
        if op == "MatMul":
            return np.matmul(x[0], x[1])
        if op == "Gemm":
            A = x[0].T if a.get("transA", 0) else x[0]
            Bm = x[1].T if a.get("transB", 0) else x[1]
            r = a.get("alpha", 1.0) * (A @ Bm)
            if len(x) > 2 and x[2] is not None:
                r = r + a.get("beta", 1.0) * x[2]
            return r.astype(np.float32)
        if op == "Transpose":
            return np.transpose(x[0], a.get("perm"))
        if op == "Reshape":
            shape = [int(s) for s in x[1]]
            shape = [x[0].shape[i] if s == 0 else s for i, s in enumerate(shape)]
            return x[0].reshape(shape)
        if op == "ReduceMean":
            return np.mean(x[0], axis=tuple(a["axes"]), keepdims=bool(a.get("keepdims", 1)))
        if op == "Softmax":
            ax = a.get("axis", -1)
            e = np.exp(x[0] - x[0].max(axis=ax, keepdims=True))
            return e / e.sum(axis=ax, keepdims=True)
        if op == "Range":
            return np.arange(x[0], x[1], x[2]).astype(x[0].dtype)
        if op == "Cast":
            to = onnx.mapping.TENSOR_TYPE_TO_NP_TYPE[a["to"]]
            return x[0].astype(to)
        if op == "Equal":
            return np.equal(x[0], x[1])
        if op == "LessOrEqual":
            return np.less_equal(x[0], x[1])
        if op == "Less":
            return np.less(x[0], x[1])
        if op == "Greater":
            return np.greater(x[0], x[1])
        if op == "And":
            return np.logical_and(x[0], x[1])
        if op == "Or":
            return np.logical_or(x[0], x[1])
        if op == "Not":
            return np.logical_not(x[0])
        if op == "Where":
            return np.where(x[0], x[1], x[2])
        if op == "Expand":
            return x[0] * np.ones([int(s) for s in x[1]], dtype=x[0].dtype)
        if op == "ConstantOfShape":
            v = numpy_helper.to_array(a["value"]) if "value" in a else np.zeros(1, np.float32)
            return np.full([int(s) for s in x[0]], v.flat[0], dtype=v.dtype)
        if op == "Slice":
            data, st, en = x[0], x[1], x[2]
            axes = x[3] if len(x) > 3 and x[3] is not None else range(len(st))
            steps = x[4] if len(x) > 4 and x[4] is not None else [1] * len(st)
            sl = [slice(None)] * data.ndim
            for s, e, ax, sp in zip(st, en, axes, steps):
                sl[int(ax)] = slice(int(max(min(s, 2**62), -2**62)), int(max(min(e, 2**62), -2**62)), int(sp))
            return data[tuple(sl)]
        if op == "Split":
            ax = a.get("axis", 0)
            sizes = x[1] if len(x) > 1 and x[1] is not None else a.get("split")
            idx = np.cumsum(sizes)[:-1]
            return np.split(x[0], idx, axis=ax)
        if op == "Identity":
            return x[0]
        raise NotImplementedError("operator " + op)


def make_feeds(m, ids, mask, pos, past):
    f = {"input_ids": np.asarray(ids, np.int64), "attention_mask": np.asarray(mask, np.int64),
         "position_ids": np.asarray(pos, np.int64)}
    for i, (k, v) in enumerate(past):
        f["past_key_values.%d.key" % i] = np.asarray(k, np.float32)
        f["past_key_values.%d.value" % i] = np.asarray(v, np.float32)
    return f


def run_torch(m, feeds):
    L = m.cfg["layers"]
    past = [(torch.from_numpy(feeds["past_key_values.%d.key" % i]),
             torch.from_numpy(feeds["past_key_values.%d.value" % i])) for i in range(L)]
    with torch.no_grad():
        lg, pres = m(torch.from_numpy(feeds["input_ids"]), torch.from_numpy(feeds["attention_mask"]),
                     torch.from_numpy(feeds["position_ids"]), past)
    out = {"logits": lg.numpy()}
    for i, (k, v) in enumerate(pres):
        out["present.%d.key" % i] = k.numpy()
        out["present.%d.value" % i] = v.numpy()
    return out


def past_from(out, L, upto=None):
    return [(out["present.%d.key" % i][:, :, :upto], out["present.%d.value" % i][:, :, :upto])
            for i in range(L)]


def check_model(name, m, ev):
    """Returns a dict of max |delta| figures; raises if a check fails."""
    L = m.cfg["layers"]
    res = {}
    prompt = list(b"The quick brown fox jumps over")
    n = len(prompt)
    empty = [(np.zeros(e[0].shape, np.float32), np.zeros(e[1].shape, np.float32))
             for e in empty_past(m, 1)]
    # 1. ONNX vs PyTorch, empty past
    f_full = make_feeds(m, [prompt], [[1] * n], [list(range(n))], empty)
    o_full = ev.run(f_full)
    t_full = run_torch(m, f_full)
    res["onnx_vs_torch_full"] = float(max(np.abs(o_full[k] - t_full[k]).max() for k in o_full))
    # 2. KV cache: prefill n-1 tokens, then one step, vs full recompute
    f_pre = make_feeds(m, [prompt[:-1]], [[1] * (n - 1)], [list(range(n - 1))], empty)
    o_pre = ev.run(f_pre)
    f_step = make_feeds(m, [prompt[-1:]], [[1] * n], [[n - 1]], past_from(o_pre, L))
    o_step = ev.run(f_step)
    res["kv_step_vs_full"] = float(np.abs(o_step["logits"][0, -1] - o_full["logits"][0, -1]).max())
    res["kv_prefill_vs_full"] = float(np.abs(o_pre["logits"][0] - o_full["logits"][0, :-1]).max())
    # 3. left-padded batch of 2 vs the single sequences
    short = list(b"Hello, world")
    pad = n - len(short)
    ids = [prompt, [0] * pad + short]
    mask = [[1] * n, [0] * pad + [1] * len(short)]
    pos = [list(range(n)), [0] * pad + list(range(len(short)))]
    empty2 = [(np.zeros((2,) + k.shape[1:], np.float32), np.zeros((2,) + v.shape[1:], np.float32))
              for k, v in empty]
    o_b = ev.run(make_feeds(m, ids, mask, pos, empty2))
    o_s = ev.run(make_feeds(m, [short], [[1] * len(short)], [list(range(len(short)))], empty))
    res["padded_batch_vs_single"] = float(max(
        np.abs(o_b["logits"][1, pad:] - o_s["logits"][0]).max(),
        np.abs(o_b["logits"][0] - o_full["logits"][0]).max()))
    # 4. padded batch continued with a one-token step on both rows
    nxt = [[int(o_b["logits"][0, -1].argmax())], [int(o_b["logits"][1, -1].argmax())]]
    o_b2 = ev.run(make_feeds(m, nxt, [r + [1] for r in mask], [[n], [len(short)]], past_from(o_b, L)))
    o_s2 = ev.run(make_feeds(m, [nxt[1]], [[1] * (len(short) + 1)], [[len(short)]], past_from(o_s, L)))
    res["padded_step_vs_single_step"] = float(np.abs(o_b2["logits"][1] - o_s2["logits"][0]).max())
    for k, v in res.items():
        ok = v < 1e-4
        print("[%s] %-28s max|delta| = %.2e  %s" % (name, k, v, "ok" if ok else "FAIL"), flush=True)
        if not ok:
            raise SystemExit("check %s failed for %s" % (k, name))
    return res


# --------------------------------------------------------------------------------------------
# Tokenizer
# --------------------------------------------------------------------------------------------


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def tokenizer_json():
    b2u = bytes_to_unicode()
    vocab = {b2u[b]: b for b in range(256)}
    vocab[EOT_TEXT] = EOT
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [{"id": EOT, "content": EOT_TEXT, "single_word": False, "lstrip": False,
                          "rstrip": False, "normalized": False, "special": True}],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                          "use_regex": False},
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                    "use_regex": False},
        "model": {"type": "BPE", "dropout": None, "unk_token": None,
                  "continuing_subword_prefix": None, "end_of_word_suffix": None,
                  "fuse_unk": False, "byte_fallback": False, "vocab": vocab, "merges": []},
    }


# --------------------------------------------------------------------------------------------
# Reference logits
# --------------------------------------------------------------------------------------------


def rnd(a, nd=6):
    return [round(float(v), nd) for v in np.asarray(a).reshape(-1)]


def reference_cases(m, ev):
    L = m.cfg["layers"]
    c = m.cfg
    hd = c["d_model"] // c["heads"]
    kvh = c.get("kv_heads", c["heads"])
    empty1 = [(np.zeros((1, kvh, 0, hd), np.float32),) * 2 for _ in range(L)]
    empty2 = [(np.zeros((2, kvh, 0, hd), np.float32),) * 2 for _ in range(L)]
    cases = []

    def case(name, desc, feeds, out, past_len, prev=None):
        lg = out["logits"]
        B, T, _ = lg.shape
        p0 = int(np.argmax(feeds["attention_mask"][0][-T:] == 1))  # first real (non-pad) position
        d = {"name": name, "description": desc,
             "inputs": {"input_ids": feeds["input_ids"].tolist(),
                        "attention_mask": feeds["attention_mask"].tolist(),
                        "position_ids": feeds["position_ids"].tolist(),
                        "past_sequence_length": past_len},
             "logits_shape": [B, T, c.get("vocab", VOCAB)],
             "last_logits": [rnd(lg[b, -1]) for b in range(B)],
             "argmax": [[int(v) for v in lg[b].argmax(-1)] for b in range(B)],
             "logits_row0": {"batch": 0, "position": p0, "values": rnd(lg[0, p0])}}
        if prev:
            d["past_from"] = prev
        cases.append(d)

    p = list(b"The quick brown fox")
    f1 = make_feeds(m, [p], [[1] * len(p)], [list(range(len(p)))], empty1)
    o1 = ev.run(f1)
    case("prompt_empty_past", "single prompt, empty past (P=0)", f1, o1, 0)
    nxt = int(o1["logits"][0, -1].argmax())
    f2 = make_feeds(m, [[nxt]], [[1] * (len(p) + 1)], [[len(p)]], past_from(o1, L))
    o2 = ev.run(f2)
    case("kv_step", "one-token step after 'prompt_empty_past', feeding its present.* as "
         "past_key_values.* (P=%d); input token = argmax of the previous last logits" % len(p),
         f2, o2, len(p), prev="prompt_empty_past")
    a, b = list(b"Hi there"), list(b"A computer is")
    pad = len(b) - len(a)
    ids = [[0] * pad + a, b]
    f3 = make_feeds(m, ids, [[0] * pad + [1] * len(a), [1] * len(b)],
                    [[0] * pad + list(range(len(a))), list(range(len(b)))], empty2)
    o3 = ev.run(f3)
    case("left_padded_batch", "batch of 2 prompts of different length, the shorter one left-padded "
         "with token 0 (attention_mask 0, position_ids 0 on padding)", f3, o3, 0)
    return cases


# --------------------------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------------------------


def cmd_corpus(a):
    print(json.dumps(corpus_stats(), indent=1))


def cmd_export(a):
    torch.set_num_threads(a.threads)
    refs = {"format": "see models/README.md#reference-logits", "vocab_size": VOCAB, "eos_id": EOT,
            "tolerance": 1e-4, "models": {}}
    checks = {}
    for name in ("target", "draft"):
        m, ck = load_model(name)
        path = os.path.join(HERE, name + ".onnx")
        model = export_onnx(m, path)
        print("[%s] exported %s (%d bytes), opset %d" % (name, os.path.basename(path),
                                                          os.path.getsize(path), OPSET), flush=True)
        ev = NumpyOnnx(model)
        checks[name] = check_model(name, m, ev)
        refs["models"][name] = {"file": name + ".onnx", "layers": m.cfg["layers"],
                                "heads": m.cfg["heads"],
                                "head_dim": m.cfg["d_model"] // m.cfg["heads"],
                                "cases": reference_cases(m, ev)}
    with open(os.path.join(HERE, "reference_logits.json"), "w") as fh:
        json.dump(refs, fh, separators=(",", ":"))
        fh.write("\n")
    with open(os.path.join(HERE, "tokenizer.json"), "w", encoding="utf-8") as fh:
        json.dump(tokenizer_json(), fh, ensure_ascii=False, indent=1)
        fh.write("\n")
    with open(os.path.join(CKPT, "checks.json"), "w") as fh:
        json.dump(checks, fh, indent=1)
    print("wrote reference_logits.json, tokenizer.json", flush=True)


def cmd_select(a):
    """Keep the target candidate (ckpt/target.pt or ckpt/target2.pt) with the lower held-out
    bits/byte as ckpt/target.pt; the other one is kept as ckpt/target_rejected.pt."""
    torch.set_num_threads(a.threads)
    _, _, held, _ = load_corpus()
    hstream, _ = to_stream(held)
    res = {}
    for name in ("target", "target2"):
        if os.path.exists(os.path.join(CKPT, name + ".pt")):
            m, ck = load_model(name)
            res[name] = {"bits_per_byte": heldout_bits(m, hstream), "config": ck["cfg"],
                         "training": ck["stats"], "params": m.n_params()}
            print("[select] %s %s: held-out bits/byte %.4f" % (name, ck["cfg"], res[name]["bits_per_byte"]),
                  flush=True)
    best = min(res, key=lambda k: res[k]["bits_per_byte"])
    if best == "target2":
        os.replace(os.path.join(CKPT, "target.pt"), os.path.join(CKPT, "target_rejected.pt"))
        os.replace(os.path.join(CKPT, "target2.pt"), os.path.join(CKPT, "target.pt"))
    print("[select] chose %s" % best, flush=True)
    with open(os.path.join(CKPT, "selection.json"), "w") as fh:
        json.dump({"chosen": best, "candidates": res}, fh, indent=1)


def cmd_verify(a):
    for name in ("target", "draft"):
        m, _ = load_model(name)
        model = onnx.load(os.path.join(HERE, name + ".onnx"))
        onnx.checker.check_model(model)
        check_model(name, m, NumpyOnnx(model))


def pick_prompts(held, n=24):
    """Held-out document starts: the first line, printable ASCII, cut at a word boundary to
    20..60 bytes, no leading/trailing blanks. Deterministic (documents ordered by hash)."""
    order = sorted(held, key=lambda d: hashlib.sha1(b"prompt" + d).hexdigest())
    out = []
    for d in order:
        line = d.split(b"\n")[0].strip()
        if not all(32 <= c < 127 for c in line) or len(line) < 20:
            continue
        if len(line) > 60:
            cut = line[:61].rfind(b" ")
            line = line[:cut].rstrip() if cut >= 20 else line[:60].rstrip()
        if 20 <= len(line) <= 60 and line not in out:
            out.append(line)
        if len(out) == n:
            break
    return [p.decode("ascii") for p in out]


def cmd_evaluate(a):
    torch.set_num_threads(a.threads)
    t0 = time.time()
    corpus = corpus_stats()
    _, _, held, _ = load_corpus()
    hstream, _ = to_stream(held)
    tm, tck = load_model("target")
    dm, dck = load_model("draft")
    ps = pair_stats(tm, dm, hstream)
    print(json.dumps(ps, indent=1), flush=True)
    prompts = pick_prompts(held)
    with open(os.path.join(HERE, "eval_prompts.txt"), "w") as fh:
        fh.write("\n".join(prompts) + "\n")
    gens, props = [], []
    for p in prompts:
        pid = list(p.encode("ascii"))
        g = greedy(tm, pid, a.new_tokens)
        gens.append(g)
        props.append(draft_proposals(dm, pid, g, 6))
    spec = {}
    for k in range(1, 7):
        R = D = A = N = 0
        for g, pr in zip(gens, props):
            r, d, acc = simulate_spec(g, pr, k, a.new_tokens)
            R += r
            D += d
            A += acc
            N += len(g)
        spec[str(k)] = {"acceptance": A / D, "accepted": A, "drafted": D, "target_calls": R,
                        "new_tokens": N, "tokens_per_target_call": N / R}
        print("k=%d acceptance %.4f (%d/%d), tokens per target call %.3f" % (k, A / D, A, D, N / R),
              flush=True)
    samples = []
    for p, g in zip(prompts[:6], gens[:6]):
        samples.append({"prompt": p, "continuation": bytes(t for t in g if t < 256).decode(
            "utf-8", "replace"), "ended_with_eos": bool(g and g[-1] == EOT)})

    def info(m, ck, name):
        return {"layers": m.cfg["layers"], "d_model": m.cfg["d_model"], "heads": m.cfg["heads"],
                "head_dim": m.cfg["d_model"] // m.cfg["heads"], "context": CTX, "vocab": VOCAB,
                "params": m.n_params(), "onnx_bytes": os.path.getsize(os.path.join(HERE, name + ".onnx")),
                "training": ck["stats"]}

    checks_path = os.path.join(CKPT, "checks.json")
    metrics = {
        "corpus": corpus,
        "tokenizer": {"vocab_size": VOCAB, "eos_id": EOT, "eos_token": EOT_TEXT,
                      "ids": "0..255 = bytes, 256 = <|endoftext|>"},
        "models": {"target": info(tm, tck, "target"), "draft": info(dm, dck, "draft")},
        "heldout": {"eval": "held-out documents joined with EOT after each, cut into %d "
                            "non-overlapping windows of %d+1 tokens starting at position 0; "
                            "every next-token prediction counts (EOT included)"
                            % (len(eval_windows(hstream)), EVAL_WIN),
                    **ps},
        "speculative_greedy": {
            "prompts_file": "eval_prompts.txt", "prompts": len(prompts),
            "max_new_tokens": a.new_tokens, "stop": "after EOT (id 256), which counts as a token",
            "per_k": spec},
        "target_selection": json.load(open(os.path.join(CKPT, "selection.json")))
        if os.path.exists(os.path.join(CKPT, "selection.json")) else None,
        "onnx_checks_max_abs_delta": json.load(open(checks_path)) if os.path.exists(checks_path) else None,
        "samples": samples,
        "eval_seconds": round(time.time() - t0, 1),
    }
    with open(os.path.join(HERE, "metrics.json"), "w") as fh:
        json.dump(metrics, fh, indent=1)
        fh.write("\n")
    print("wrote metrics.json, eval_prompts.txt (%.0fs)" % (time.time() - t0), flush=True)


def cmd_prompts(a):
    """The benchmark workload: more held-out prompts picked like eval_prompts.txt (the first 24
    are the same), none of them seen in training."""
    _, _, held, _ = load_corpus()
    prompts = pick_prompts(held, n=a.count)
    with open(os.path.join(HERE, "bench_prompts.txt"), "w") as fh:
        fh.write("\n".join(prompts) + "\n")
    print("wrote bench_prompts.txt (%d prompts)" % len(prompts), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=1)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("corpus")
    t = sub.add_parser("train")
    t.add_argument("name")
    t.add_argument("layers", type=int)
    t.add_argument("d", type=int)
    t.add_argument("heads", type=int)
    t.add_argument("seconds", type=float)
    t.add_argument("--lr", type=float, default=2e-3)
    t.add_argument("--batch", type=int, default=16)
    t.add_argument("--seq", type=int, default=128)
    t.add_argument("--warmup", type=int, default=100)
    t.add_argument("--init-from", default=None, help="start from the weights of ckpt/NAME.pt")
    t.add_argument("--lr-horizon", type=float, default=None,
                   help="seconds over which the cosine lr decays (default: the budget)")
    t.add_argument("--long-every", type=int, default=0,
                   help="every N-th step trains on full 512-token windows")
    t.add_argument("--seed", type=int, default=1)
    t.add_argument("--print-every", type=float, default=30)
    t.add_argument("--more-threads-after", default=None,
                   help="switch to 2 threads once the named parallel training has finished")
    sub.add_parser("select")
    sub.add_parser("export")
    sub.add_parser("verify")
    e = sub.add_parser("evaluate")
    e.add_argument("--new-tokens", type=int, default=64)
    pr = sub.add_parser("prompts")
    pr.add_argument("--count", type=int, default=256)
    a = ap.parse_args()
    {"corpus": cmd_corpus, "train": cmd_train, "export": cmd_export, "verify": cmd_verify,
     "evaluate": cmd_evaluate, "select": cmd_select, "prompts": cmd_prompts}[a.cmd](a)


if __name__ == "__main__":
    main()
