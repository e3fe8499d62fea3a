"""Complaint-surge detection per scope, as pure functions over plain JSON data.

One complaint is routine; forty in an hour where three is normal is an
incident, and the team should hear about it once, not forty times. Each scope
("all", "brand:acme", "keyword:safety") keeps its own state as a value in a
changelog-backed faust table, so a brand that always draws many complaints is
compared with its own history, not with a quiet one. The last ``window_s`` is
compared with the ``baseline_s`` before it, cut into window-sized slices, and a
surge is a count above ``max(min_count, mean + k * max(sd, 1))``: k standard
deviations adapts to how noisy each scope normally is. A surge opens an
episode: no further alert for that scope until the count has fallen back to
the threshold and ``cooldown_s`` has passed, so a long incident alerts once.

>>> cfg = SurgeConfig()
>>> state = new_state()
>>> for hour in range(24):
...     for i in range(3):
...         state = observe(state, hour * 3600.0 + i * 1200, "the parcel was late again", cfg)
>>> posts = ["login broken", "cannot login", "the login page fails"]
>>> for minute in range(40):
...     state = observe(state, 86400.0 + minute * 60, posts[minute % 3], cfg)
>>> state, surge = check(state, 86400.0 + 2400, cfg)
>>> print(surge.summary("brand:acme"))
complaint surge (brand:acme): 40 in the last hour vs 3.0 ± 0.0 per hour over the previous day; top terms: login, broken, cannot, fails, page
>>> check(state, 86400.0 + 2700, cfg)[1] is None
True
"""

from __future__ import annotations

import re
import statistics
import unicodedata
from collections import Counter
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

MAX_TERMS_PER_BUCKET = 200
SAMPLE_CHARS = 280
_TOKEN = re.compile(r"\w+")
_STOPWORDS_BY_LANG = {
    "en": "the and for are but not you your with this that have was were has had our they from what when will would can just all been",
    "ro": "care este sunt pentru din mai cum dar acest această aceasta sau fost până pana doar foarte încă inca unde când cand lui lor ale",
    "it": "che non per una sono con del della dei gli alla anche come più questo questa nel nella ancora dopo sempre hanno loro mio mia",
    "fr": "les des est une pas que qui pour dans avec sur par mais ont sont plus nous vous ils elle cette mon mes son aux été",
    "de": "der die das und ist nicht ein eine mit den dem des sich auf für auch von wie aber noch nach wir sie ich mein schon bei hat habe",
    "es": "que los las del una por con para como pero más mas este esta sus les muy sin sobre también hay todo nos fue son está desde",
    "nl": "het een van dat die niet zijn voor met maar ook als bij nog wel geen naar heb heeft mijn jullie wordt deze dit kan over wat",
    "pl": "nie się jest jak ale czy tak już dla jestem jego jej ich tym tego ten który która które mnie przez tylko jeszcze oraz może bardzo",
    "pt": "que não uma com para por mais dos das como mas foi ele ela seu sua meu minha nos nas isso este esta está são tem até ainda muito sem",
    "cs": "není jsem jsou byl byla ale jak tak pro při jeho její který která které ten tento tato jako ještě nebo mám máme aby když také jen již",
    "el": "και του της των τον την τους τις στο στη στην στον στα από για που δεν είναι ένα μια μου σας μας αλλά όταν έχει έχω πολύ ακόμα",
    "he": "אני את הוא היא אבל אין היה שלא אנחנו עוד כמו זאת הזה הזאת שלי שלכם אתם כבר מאוד כדי אחרי לפני עכשיו שוב",
    "web": "http https www com amp",
}
STOPWORDS = frozenset(word for words in _STOPWORDS_BY_LANG.values() for word in words.split())


class SurgeConfig(BaseModel):
    """Detector settings; a baseline_s that is not a whole number of windows loses its oldest remainder."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    bucket_s: int = Field(300, gt=0)
    window_s: int = Field(3600, gt=0)
    baseline_s: int = Field(86400, gt=0)
    k: float = Field(3.0, gt=0)
    min_count: int = Field(10, ge=0)
    cooldown_s: int = Field(3600, ge=0)
    samples: int = Field(3, ge=0)
    top_terms: int = Field(5, ge=0)

    @field_validator("window_s", "baseline_s")
    @classmethod
    def _whole_buckets(cls, value: int, info: ValidationInfo) -> int:
        """Counts are kept per bucket, so spans must be made of whole buckets to be summed exactly."""
        bucket, window = info.data.get("bucket_s"), info.data.get("window_s")
        if bucket and value % bucket:
            raise ValueError(f"{info.field_name} ({value}) must be a multiple of bucket_s ({bucket})")
        if info.field_name == "baseline_s" and window and value <= window:
            raise ValueError(f"baseline_s ({value}) must be greater than window_s ({window}) to hold a baseline slice")
        return value


@dataclass(frozen=True)
class Surge:
    """One alert's worth of evidence: how far above normal, and what people are complaining about."""

    count: int
    baseline_mean: float
    baseline_sd: float
    threshold: float
    window_s: int
    baseline_s: int
    top_terms: list[tuple[str, int]]
    samples: list[str]

    def summary(self, scope: str) -> str:
        """A one-liner a support lead can act on without knowing the statistics behind it."""
        per = _span(self.window_s)
        text = (
            f"complaint surge ({scope}): {self.count} in the last {per} vs {self.baseline_mean:.1f} ± "
            f"{self.baseline_sd:.1f} per {per} over the previous {_span(self.baseline_s)}"
        )
        if self.top_terms:
            text += "; top terms: " + ", ".join(term for term, _ in self.top_terms)
        return text


def _span(seconds: int) -> str:
    units = (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))
    unit, size = next((unit, size) for unit, size in units if seconds % size == 0)
    return unit if seconds == size else f"{seconds // size} {unit}s"


def terms(text: str) -> list[str]:
    """Distinct content words of a post, in order of first appearance.

    Distinct, so one post repeating "refund" ten times counts as one post about
    refunds. NFC first, so a decomposed "é" stays inside its word; ``lower``
    rather than ``casefold``, which would turn Greek final ς into σ in alerts.
    """
    seen: dict[str, None] = {}
    for token in _TOKEN.findall(unicodedata.normalize("NFC", text).lower()):
        if len(token) >= 3 and any(c.isalpha() for c in token) and token not in STOPWORDS:
            seen.setdefault(token, None)
    return list(seen)


def new_state() -> dict[str, Any]:
    """A scope that has seen no complaints; bucket keys are epoch seconds as strings, as JSON requires."""
    return {"counts": {}, "terms": {}, "samples": [], "fired_at": None, "episode_open": False}


def _bucket(at: float, config: SurgeConfig) -> int:
    return int(at // config.bucket_s) * config.bucket_s


def _pruned(state: dict[str, Any], end: int, config: SurgeConfig) -> dict[str, Any]:
    """A shallow copy holding only the buckets a check ending at ``end`` can still use."""
    oldest, recent = end - config.baseline_s - config.window_s, end - config.window_s
    return {
        **state,
        "counts": {key: n for key, n in state["counts"].items() if int(key) >= oldest},
        "terms": {key: bag for key, bag in state["terms"].items() if int(key) >= recent},
        "samples": list(state["samples"]),
    }


def observe(state: dict[str, Any], at: float, text: str, config: SurgeConfig) -> dict[str, Any]:
    """Count one complaint seen at ``at``; returns a new state and leaves the input (a table value) alone.

    Pass the monitor's clock, not the post's claimed creation time: history is
    pruned relative to the newest bucket, so one far-future timestamp would
    discard the whole baseline. Complaints older than the baseline are ignored.
    """
    bucket = _bucket(at, config)
    end = max([bucket, *map(int, state["counts"])]) + config.bucket_s
    new = _pruned(state, end, config)
    if bucket < end - config.baseline_s - config.window_s:
        return new
    key = str(bucket)
    new["counts"][key] = new["counts"].get(key, 0) + 1
    if bucket >= end - config.window_s:
        bag = dict(new["terms"].get(key, {}))
        for term in terms(text):
            bag[term] = bag.get(term, 0) + 1
        while len(bag) > MAX_TERMS_PER_BUCKET:
            del bag[min(bag, key=bag.__getitem__)]
        new["terms"][key] = bag
    keep = config.samples * 3
    ordered = sorted([*new["samples"], [at, text[:SAMPLE_CHARS]]], key=lambda sample: sample[0])
    new["samples"] = ordered[-keep:] if keep else []
    return new


def check(state: dict[str, Any], now: float, config: SurgeConfig) -> tuple[dict[str, Any], Surge | None]:
    """Compare the last window with the baseline before it; a Surge only when a new episode starts.

    The window ends with the bucket holding ``now``, so a surge is seen while it
    happens. σ is floored at 1 because a perfectly flat or empty baseline has
    σ = 0, which would make one complaint above the usual count a surge; σ is
    the population deviation of the baseline slices, which are all we know.
    """
    end = _bucket(now, config) + config.bucket_s
    start = end - config.window_s
    new = _pruned(state, end, config)
    recent, slices = 0, [0] * (config.baseline_s // config.window_s)
    for key, n in new["counts"].items():
        bucket = int(key)
        if start <= bucket < end:
            recent += n
        elif bucket < start and (start - 1 - bucket) // config.window_s < len(slices):
            slices[(start - 1 - bucket) // config.window_s] += n
    mean, sd = statistics.fmean(slices), statistics.pstdev(slices)
    threshold = max(float(config.min_count), mean + config.k * max(sd, 1.0))
    if recent <= threshold:
        new["episode_open"] = False
        return new, None
    cooling = new["fired_at"] is not None and now - new["fired_at"] < config.cooldown_s
    if new["episode_open"] or cooling:
        return new, None
    new["fired_at"], new["episode_open"] = float(now), True
    bag: Counter[str] = Counter()
    for key, counts in new["terms"].items():
        if start <= int(key) < end:
            bag.update(counts)
    top = sorted(bag.items(), key=lambda item: (-item[1], item[0]))[: config.top_terms]
    samples = [text for at, text in reversed(new["samples"]) if at >= start][: config.samples]
    surge = Surge(
        count=recent, baseline_mean=mean, baseline_sd=sd, threshold=threshold, window_s=config.window_s,
        baseline_s=config.baseline_s, top_terms=top, samples=samples,
    )
    return new, surge
